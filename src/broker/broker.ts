/**
 * The broker: the one path to customer data, and the only code that decrypts.
 * Every request runs decide → record → (only then) decrypt → return. A decision that
 * cannot be recorded returns nothing: the recorder's failure is the request's failure.
 */
import { InvalidInputError, NotFoundError, type DenyReason } from '../errors.ts';
import type { CustomerProfile, EventTarget, Purpose, RecordedEvent } from '../model.ts';
import { checkId, normalizeEmail, normalizePhone } from '../model.ts';
import type { Budget, PolicyDecision, PolicyEngine } from '../policy/index.ts';
import type { StoredCustomer } from '../store/customers.ts';
import type { Store } from '../store/store.ts';
import { BUDGET_KINDS, DAY_MS, type BudgetKind } from '../store/budgets.ts';
import type { SearchKind, Vault } from '../vault/index.ts';
import { openerFor, type FieldOpener } from '../vault/decrypt.ts';
import { DecisionLog, denied, type DecisionFacts, type RequestContext } from './decision-log.ts';
import type { Recorder } from './recorder.ts';

export type { RequestContext };

/** A customer as people and tools see it: every PII field masked, the canary flag never shown. */
export interface MaskedCustomer {
  id: string;
  country: string;
  region: string | null;
  locale: string | null;
  vip: boolean;
  entity: string | null;
  fields: Record<string, string>;
}

export interface RevealResult {
  customer: string;
  fields: Record<string, string>;
  /** The ledger position of the recorded decision. */
  seq: number;
}

/** What a reveal may name as its purpose; anything else is refused before it can be recorded. */
export const PURPOSE_KINDS = ['case'] as const;

export interface BrokerDeps {
  store: Store;
  vault: Vault;
  /** How many unwrapped data keys to keep (LRU); 0 unwraps on every reveal. */
  dataKeyCacheSize?: number;
  policy: PolicyEngine;
  recorder: Recorder;
  now: () => Date;
}

const MAX_FIELDS = 32;
export const MAX_SEARCH_RESULTS = 50;
// Same shape as the PII field names model.parseCustomer accepts.
const FIELD_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const DIRECTORY: EventTarget = Object.freeze({ type: 'directory', id: 'customers' });
/** Denials about who is asking, not about the record: an actor hears these whether or not the record exists. */
const ACTOR_REASONS: ReadonlySet<DenyReason> = new Set<DenyReason>(['actor_unknown', 'actor_suspended']);

type SearchQuery = { email?: string; phone?: string; country?: string };

export class Broker {
  private readonly opener: FieldOpener;
  private readonly decisions: DecisionLog;

  constructor(private readonly deps: BrokerDeps) {
    this.decisions = new DecisionLog(deps.recorder, deps.now);
    this.opener = openerFor(deps.vault, deps.dataKeyCacheSize !== undefined ? { dataKeyCacheSize: deps.dataKeyCacheSize } : {});
  }

  /** A deleted customer's key must not outlive it in memory. */
  forgetCustomer(customerId: string): void {
    this.opener.forget(customerId);
  }

  /**
   * Budgets are counted in the store, shared by every process on it. A store whose counter
   * starts empty (upgraded from per-process budgets, or a lost budgets file) first takes the
   * last day's allowed reveals and searches from the access events, so no one gets a fresh budget.
   */
  async loadBudgets(): Promise<void> {
    const since = new Date(this.deps.now().getTime() - DAY_MS).toISOString();
    for (const kind of BUDGET_KINDS) {
      await this.deps.store.budgets.seedOnce(kind, () => this.deps.store.accessEvents.countsByActorSince(kind, 'allow', since));
    }
  }

  async viewCustomer(actorId: string, customerId: string, ctx: RequestContext): Promise<MaskedCustomer> {
    checkId(customerId, 'id');
    const [actor, customer] = await Promise.all([this.deps.store.employees.get(actorId), this.deps.store.customers.get(customerId)]);
    const facts: DecisionFacts = { actor: actorId, action: 'view', customers: [customerId], fields: [], target: customerTarget(customerId), operation: 'view' };
    const now = this.deps.now();
    if (!customer) return this.refuseMissing(facts, this.deps.policy.decide({ action: 'view', actor, resource: { type: 'Customer', id: customerId }, now }), ctx);
    const decision = this.deps.policy.decide({ action: 'view', actor, resource: { type: 'Customer', customer }, now });
    await this.decisions.enforce(facts, decision, ctx);
    return masked(customer);
  }

  /**
   * Customers by e-mail or phone, masked. Counted against the actor's search budget, and
   * recorded with a probe hash of the query (never the query), so repeated probes of one
   * value show in the ledger.
   */
  async searchCustomers(actorId: string, query: SearchQuery, ctx: RequestContext): Promise<MaskedCustomer[]> {
    const probe = this.searchProbe(query);
    const actor = await this.deps.store.employees.get(actorId);
    const facts: DecisionFacts = {
      actor: actorId, action: 'search', customers: [], fields: [], target: DIRECTORY, operation: 'search',
      search: { kind: probe.kind, hash: probe.hash, hits: 0 },
    };
    const now = this.deps.now();
    const decision = this.deps.policy.decide({ action: 'search', actor, resource: { type: 'Directory' }, now });
    if (decision.decision === 'deny') await this.decisions.enforce(facts, decision, ctx);
    return this.spendBudget('search', actorId, this.deps.policy.searchBudgetFor(actor?.role ?? ''), facts, now, ctx, async () => {
      const found = probe.kind === 'email'
        ? await this.deps.store.customers.findByEmailIndex(probe.index, MAX_SEARCH_RESULTS)
        : await this.deps.store.customers.findByPhoneIndex(probe.index, MAX_SEARCH_RESULTS);
      await this.decisions.enforce({ ...facts, customers: found.map((c) => c.id), search: { ...facts.search!, hits: found.length } }, decision, ctx);
      return found.map(masked);
    });
  }

  /**
   * Clear values of `fields` for one customer, only for a purpose Cedar accepts and within
   * the actor's budget. Decided and recorded before anything else is told: the decision is
   * durable in the ledger before anything is decrypted, and what the caller hears on a
   * refusal depends on what they may know (see refuseMissing, refuse).
   */
  async revealFields(actorId: string, customerId: string, fields: string[], purpose: Purpose | undefined, ctx: RequestContext): Promise<RevealResult> {
    checkId(customerId, 'id');
    const wanted = checkFieldList(fields);
    if (purpose !== undefined) checkPurpose(purpose);
    const [actor, customer, purposeCase] = await Promise.all([
      this.deps.store.employees.get(actorId),
      this.deps.store.customers.get(customerId),
      purpose ? this.deps.store.cases.get(purpose.ref) : Promise.resolve(undefined),
    ]);
    const facts: DecisionFacts = {
      actor: actorId, action: 'reveal', customers: [customerId], fields: [], target: customerTarget(customerId), operation: 'reveal',
      requested: wanted, ...(purpose ? { purpose } : {}),
    };
    const now = this.deps.now();
    const decide = (c: CustomerProfile | { id: string }, asked: readonly string[]) =>
      this.deps.policy.decideReveal({ actor, customer: c, ...(purposeCase ? { case: purposeCase } : {}), ...(purpose ? { purpose } : {}), fields: asked, now });
    if (!customer) return this.refuseMissing(facts, decide({ id: customerId }, wanted), ctx);

    // A field the customer does not hold is judged after the decision on those it does hold, so
    // the refusal (and the list of fields it may name) goes only to an actor who may reveal them.
    const held = wanted.filter((f) => customer.fields.includes(f));
    const decision = decide(customer, held);
    if (decision.decision === 'deny') await this.refuse(facts, decision, () => decide({ ...customer, canary: false }, held), ctx);
    if (held.length < wanted.length) {
      const unknown = wanted.find((f) => !customer.fields.includes(f))!;
      await this.decisions.deny(facts, 'field_unknown', ctx);
      throw new InvalidInputError(`field "${unknown}" is not held for this customer; it has ${customer.fields.join(', ')}`, { field: 'fields' });
    }
    return this.spendBudget('reveal', actorId, this.deps.policy.budgetFor(actor?.role ?? ''), facts, now, ctx, async () => {
      const recorded = await this.decisions.enforce({ ...facts, fields: wanted }, decision, ctx);
      return { customer: customerId, fields: this.openFields(customer, wanted), seq: recorded.seq };
    });
  }

  private openFields(customer: StoredCustomer, fields: string[]): Record<string, string> {
    return this.opener.open(customer, fields);
  }

  /**
   * No record with this id. Cedar's word on the actor comes first: a suspended or unknown actor
   * hears exactly what it would hear about an existing customer, so it cannot probe for ids.
   * Anyone else gets 404, recorded as `not_found` (detectors look for enumeration).
   */
  private async refuseMissing(facts: DecisionFacts, onActor: PolicyDecision, ctx: RequestContext): Promise<never> {
    if (onActor.decision === 'deny' && onActor.reason && ACTOR_REASONS.has(onActor.reason)) {
      await this.decisions.deny(facts, onActor.reason, ctx);
      throw denied(onActor.reason);
    }
    await this.decisions.deny(facts, 'not_found', ctx);
    throw new NotFoundError(`no customer "${facts.customers[0]}"`);
  }

  /**
   * Record a Cedar denial and throw the 403. A canary's denial is recorded as `canary`, but the
   * caller hears what it would have heard about an ordinary customer (`asIfNotCanary`, asked
   * only then), so bait cannot be told from a record: where that would be an allow, the most
   * plausible refusal, `purpose_not_linked`, since no legitimate case links to a canary.
   */
  private async refuse(facts: DecisionFacts, decision: PolicyDecision, asIfNotCanary: () => PolicyDecision, ctx: RequestContext): Promise<never> {
    const reason = decision.reason ?? 'not_permitted';
    await this.decisions.deny(facts, reason, ctx);
    if (reason !== 'canary') throw denied(reason);
    const shown = asIfNotCanary();
    throw denied(shown.decision === 'deny' ? shown.reason ?? 'not_permitted' : 'purpose_not_linked');
  }

  /**
   * Reserve one act of the actor's budget for `action`, then `act` (which records the allowed
   * decision); the slot is given back if `act` fails. Over budget: recorded, and refused.
   */
  private async spendBudget<T>(kind: BudgetKind, actorId: string, limits: Budget, facts: DecisionFacts, now: Date, ctx: RequestContext, act: () => Promise<T>): Promise<T> {
    const reservation = await this.deps.store.budgets.tryReserve(actorId, kind, limits, now.getTime());
    if (!reservation) {
      await this.decisions.deny(facts, 'budget_exceeded', ctx);
      throw denied('budget_exceeded', `your ${kind} budget for this hour or day is spent`);
    }
    try {
      return await act();
    } catch (err) {
      await reservation.release();
      throw err;
    }
  }

  /** The blind index a search looks up, and the probe hash it is recorded with. */
  private searchProbe(query: SearchQuery): { kind: SearchKind; index: string; hash: string } {
    const vault = this.deps.vault;
    if (query.email !== undefined && query.phone !== undefined) throw new InvalidInputError('search by email or by phone, not both', { field: 'email' });
    if (query.email !== undefined) {
      if (!normalizeEmail(query.email).includes('@')) throw new InvalidInputError('email is not an e-mail address', { field: 'email' });
      return { kind: 'email', index: vault.blindIndexEmail(query.email), hash: vault.searchProbeHash('email', query.email) };
    }
    if (query.phone !== undefined) {
      if (!normalizePhone(query.phone, query.country)) throw new InvalidInputError('phone is not a phone number (use +<country code>… or give country)', { field: 'phone' });
      return { kind: 'phone', index: vault.blindIndexPhone(query.phone, query.country), hash: vault.searchProbeHash('phone', query.phone, query.country) };
    }
    throw new InvalidInputError('give email or phone to search by', { field: 'email' });
  }
}

function customerTarget(id: string): EventTarget {
  return { type: 'customer', id };
}

/** Checked before anything is recorded: the ledger holds field names, never arbitrary text. */
function checkFieldList(fields: string[]): string[] {
  if (!Array.isArray(fields) || fields.length === 0) throw new InvalidInputError('fields must list at least one field', { field: 'fields' });
  if (fields.length > MAX_FIELDS) throw new InvalidInputError(`fields may list at most ${MAX_FIELDS} fields`, { field: 'fields' });
  fields.forEach((f, i) => {
    if (typeof f !== 'string' || !FIELD_RE.test(f)) throw new InvalidInputError(`fields[${i}] is not a field name (letters, digits and _, starting with a letter)`, { field: `fields.${i}` });
  });
  return [...new Set(fields)];
}

function checkPurpose(purpose: Purpose): void {
  if (!(PURPOSE_KINDS as readonly string[]).includes(purpose.kind)) {
    throw new InvalidInputError(`purpose.kind must be one of ${PURPOSE_KINDS.join(', ')}`, { field: 'purpose.kind' });
  }
  checkId(purpose.ref, 'purpose.ref');
}

export function masked(c: CustomerProfile & { masked: Record<string, string> }): MaskedCustomer {
  return { id: c.id, country: c.country, region: c.region, locale: c.locale, vip: c.vip, entity: c.entity ?? null, fields: c.masked };
}
