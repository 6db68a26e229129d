/**
 * The broker: the one path to customer data, and the only code that decrypts.
 * Every request runs decide → record → (only then) decrypt → return. A decision that
 * cannot be recorded returns nothing: the recorder's failure is the request's failure.
 */
import { InvalidInputError, NotFoundError } from '../errors.ts';
import type { CustomerProfile, Employee, Purpose, RecordedEvent } from '../model.ts';
import { checkId, normalizeEmail, normalizePhone } from '../model.ts';
import type { PolicyEngine } from '../policy/index.ts';
import type { StoredCustomer } from '../store/customers.ts';
import type { Store } from '../store/store.ts';
import type { Vault } from '../vault/index.ts';
import { openerFor, type FieldOpener } from '../vault/decrypt.ts';
import { DecisionLog, denied, type RequestContext } from './decision-log.ts';
import type { Recorder } from './recorder.ts';
import { RevealBudget } from './reveal-budget.ts';

export type { RequestContext };

/** A customer as people and tools see it: every PII field masked, the canary flag never shown. */
export interface MaskedCustomer {
  id: string;
  country: string;
  region: string | null;
  locale: string | null;
  vip: boolean;
  fields: Record<string, string>;
}

export interface RevealResult {
  customer: string;
  fields: Record<string, string>;
  /** The ledger position of the recorded decision. */
  seq: number;
}

export interface BrokerDeps {
  store: Store;
  vault: Vault;
  /** How many unwrapped data keys to keep (LRU); 0 unwraps on every reveal. */
  dataKeyCacheSize?: number;
  policy: PolicyEngine;
  recorder: Recorder;
  now: () => Date;
}

const DAY_MS = 24 * 3_600_000;
const MAX_FIELDS = 32;
export const MAX_SEARCH_RESULTS = 50;

export class Broker {
  private readonly budget = new RevealBudget();
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

  /** Load the last day's allowed reveals so budgets survive a restart. */
  async loadBudgets(): Promise<void> {
    const since = new Date(this.deps.now().getTime() - DAY_MS).toISOString();
    for (const row of await this.deps.store.accessEvents.countsByActorSince('reveal', 'allow', since)) {
      this.budget.seed(row.actor, row.timeMs);
    }
  }

  async viewCustomer(actorId: string, customerId: string, ctx: RequestContext): Promise<MaskedCustomer> {
    checkId(customerId, 'id');
    const [actor, customer] = await Promise.all([this.deps.store.employees.get(actorId), this.deps.store.customers.get(customerId)]);
    if (!customer) {
      // Probing for ids is itself worth recording: detectors look for enumeration.
      await this.decisions.deny({ actor: actorId, action: 'view', customers: [customerId], fields: [] }, 'not_found', ctx);
      throw new NotFoundError(`no customer "${customerId}"`);
    }
    const decision = this.deps.policy.decide({ action: 'view', actor, resource: { type: 'Customer', customer }, now: this.deps.now() });
    await this.decisions.enforce({ actor: actorId, action: 'view', customers: [customerId], fields: [] }, decision, ctx);
    return masked(customer);
  }

  async searchCustomers(actorId: string, query: { email?: string; phone?: string; country?: string }, ctx: RequestContext): Promise<MaskedCustomer[]> {
    const index = this.searchIndex(query);
    const actor = await this.deps.store.employees.get(actorId);
    const decision = this.deps.policy.decide({ action: 'search', actor, resource: { type: 'Directory' }, now: this.deps.now() });
    if (decision.decision === 'deny') await this.decisions.enforce({ actor: actorId, action: 'search', customers: [], fields: [] }, decision, ctx);
    const found = index.kind === 'email'
      ? await this.deps.store.customers.findByEmailIndex(index.value, MAX_SEARCH_RESULTS)
      : await this.deps.store.customers.findByPhoneIndex(index.value, MAX_SEARCH_RESULTS);
    await this.decisions.enforce({ actor: actorId, action: 'search', customers: found.map((c) => c.id), fields: [] }, decision, ctx);
    return found.map(masked);
  }

  /**
   * Clear values of `fields` for one customer, only for a purpose Cedar accepts and within
   * the actor's budget. The decision is durable in the ledger before anything is decrypted.
   */
  async revealFields(actorId: string, customerId: string, fields: string[], purpose: Purpose | undefined, ctx: RequestContext): Promise<RevealResult> {
    checkId(customerId, 'id');
    const wanted = checkFieldList(fields);
    const [actor, customer, purposeCase] = await Promise.all([
      this.deps.store.employees.get(actorId),
      this.deps.store.customers.get(customerId),
      purpose?.kind === 'case' && purpose.ref ? this.deps.store.cases.get(purpose.ref) : Promise.resolve(undefined),
    ]);
    if (!customer) {
      await this.decisions.deny({ actor: actorId, action: 'reveal', customers: [customerId], fields: [], ...(purpose ? { purpose } : {}) }, 'not_found', ctx);
      throw new NotFoundError(`no customer "${customerId}"`);
    }
    const unknown = wanted.find((f) => !customer.fields.includes(f));
    if (unknown) throw new InvalidInputError(`field "${unknown}" is not held for this customer; it has ${customer.fields.join(', ')}`, { field: 'fields' });

    const now = this.deps.now();
    const decision = this.deps.policy.decideReveal({ actor, customer, ...(purposeCase ? { case: purposeCase } : {}), ...(purpose ? { purpose } : {}), fields: wanted, now });
    const facts = { actor: actorId, action: 'reveal' as const, customers: [customerId], ...(purpose ? { purpose } : {}) };
    if (decision.decision === 'deny') await this.decisions.enforce({ ...facts, fields: [] }, decision, ctx);
    const release = this.budget.tryReserve(actorId, this.deps.policy.budgetFor((actor as Employee).role), now.getTime());
    if (!release) {
      await this.decisions.deny({ ...facts, fields: [] }, 'budget_exceeded', ctx);
      throw denied('budget_exceeded');
    }
    let recorded: RecordedEvent;
    try {
      recorded = await this.decisions.enforce({ ...facts, fields: wanted }, decision, ctx);
    } catch (err) {
      release();
      throw err;
    }
    return { customer: customerId, fields: this.openFields(customer, wanted), seq: recorded.seq };
  }

  /**
   * The benchmark's baseline only (`npm run bench`): the same store read and decryption as a
   * reveal with no policy, no budget and no record. Served only when CUSTOS_BENCH_BASELINE=1;
   * it is the price of the guard, measured, and must never be reachable in production.
   */
  async unguardedReadForBenchmark(customerId: string, fields: string[]): Promise<Record<string, string>> {
    const customer = await this.deps.store.customers.get(customerId);
    if (!customer) throw new NotFoundError(`no customer "${customerId}"`);
    return this.openFields(customer, checkFieldList(fields));
  }

  private openFields(customer: StoredCustomer, fields: string[]): Record<string, string> {
    return this.opener.open(customer, fields);
  }

  private searchIndex(query: { email?: string; phone?: string; country?: string }): { kind: 'email' | 'phone'; value: string } {
    if (query.email !== undefined && query.phone !== undefined) throw new InvalidInputError('search by email or by phone, not both', { field: 'email' });
    if (query.email !== undefined) {
      if (!normalizeEmail(query.email).includes('@')) throw new InvalidInputError('email is not an e-mail address', { field: 'email' });
      return { kind: 'email', value: this.deps.vault.blindIndexEmail(query.email) };
    }
    if (query.phone !== undefined) {
      if (!normalizePhone(query.phone, query.country)) throw new InvalidInputError('phone is not a phone number (use +<country code>… or give country)', { field: 'phone' });
      return { kind: 'phone', value: this.deps.vault.blindIndexPhone(query.phone, query.country) };
    }
    throw new InvalidInputError('give email or phone to search by', { field: 'email' });
  }
}

function checkFieldList(fields: string[]): string[] {
  if (!Array.isArray(fields) || fields.length === 0) throw new InvalidInputError('fields must list at least one field', { field: 'fields' });
  if (fields.length > MAX_FIELDS) throw new InvalidInputError(`fields may list at most ${MAX_FIELDS} fields`, { field: 'fields' });
  return [...new Set(fields)];
}

export function masked(c: CustomerProfile & { masked: Record<string, string> }): MaskedCustomer {
  return { id: c.id, country: c.country, region: c.region, locale: c.locale, vip: c.vip, fields: c.masked };
}
