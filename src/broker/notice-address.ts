/**
 * The one clear value a customer notice needs: the customer's e-mail address, opened here (the
 * broker is the only code that decrypts) for one (incident, customer), after Cedar's `notify`
 * decision is recorded in the ledger as an export of that customer's `email`. The incident is
 * the purpose: it must be in the store, notifying, and have affected that customer; a name made
 * up, an incident not yet (or no longer) notifying, or a customer it did not affect is refused
 * and the refusal recorded, so an address is never opened for anyone an incident does not name.
 */
import type { Actor } from './acts.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { EventTarget } from '../model.ts';
import type { Incident } from '../store/incidents.ts';
import type { PolicyDecision, PolicyEngine } from '../policy/index.ts';
import type { Store } from '../store/store.ts';
import type { Vault } from '../vault/index.ts';
import { openerFor, type FieldOpener } from '../vault/decrypt.ts';
import { DecisionLog, denied, type DecisionFacts, type RequestContext } from './decision-log.ts';
import type { Recorder } from './recorder.ts';

export interface NoticeAddressDeps {
  store: Store;
  vault: Vault;
  policy: Pick<PolicyEngine, 'decide'>;
  recorder: Recorder;
  now: () => Date;
  /** The customers an incident affected (its blast radius, or the exposure given): src/respond/incidents.ts. */
  affectedBy: (incident: Incident) => Promise<Iterable<string>>;
}

const NOTICE_FIELD = 'email';
/** A host's OS user is recorded, not decided (acts.ts): they hold the key files anyway. */
const HOST_ALLOW: PolicyDecision = Object.freeze({ decision: 'allow', policies: [] }) as PolicyDecision;

export class NoticeAddresses {
  private readonly decisions: DecisionLog;
  private readonly opener: FieldOpener;
  /** Per incident, the customers it affected: computed once per sender (a blast radius is not per message). */
  private readonly affected = new Map<string, Promise<ReadonlySet<string>>>();

  constructor(private readonly deps: NoticeAddressDeps) {
    this.decisions = new DecisionLog(deps.recorder, deps.now);
    // Each customer is written to once: keeping their data key would only keep it in memory longer.
    this.opener = openerFor(deps.vault, { dataKeyCacheSize: 0 });
  }

  /**
   * The address to send `incident`'s notice to, or undefined when the customer no longer exists
   * or holds no e-mail address (nothing is opened, so nothing is recorded). Decided (an
   * employee: Cedar's `notify`; the host: recorded only) and recorded before it is opened. A
   * deny is recorded and thrown (ForbiddenError), and so is an incident that is not in the store
   * (NotFoundError), not notifying (ConflictError), or did not affect this customer
   * (ForbiddenError, purpose_not_linked).
   */
  async addressFor(actor: Actor, incident: string, customerId: string, ctx: RequestContext): Promise<string | undefined> {
    const customer = await this.deps.store.customers.get(customerId);
    if (!customer || !customer.fields.includes(NOTICE_FIELD)) return undefined;
    const decision = actor.kind === 'host'
      ? HOST_ALLOW
      : this.deps.policy.decide({ action: 'notify', actor: await this.deps.store.employees.get(actor.id), resource: { type: 'Customer', customer }, now: this.deps.now() });
    const target: EventTarget = { type: 'customer', id: customerId };
    const facts: DecisionFacts = {
      actor: actor.id,
      action: 'export',
      operation: 'notify',
      customers: [customerId],
      fields: decision.decision === 'allow' ? [NOTICE_FIELD] : [],
      requested: [NOTICE_FIELD],
      target,
      details: { incident, ...(actor.kind === 'employee' && actor.runBy ? { runBy: actor.runBy } : {}) },
    };
    if (decision.decision === 'allow') {
      // Cedar's word on the actor comes first: only someone who may notify learns why an incident does not do.
      const refusal = await this.refusal(incident, customerId);
      if (refusal) {
        await this.decisions.deny({ ...facts, fields: [] }, refusal.reason, ctx);
        throw refusal.error;
      }
    }
    await this.decisions.enforce(facts, decision, ctx);
    return this.opener.open(customer, [NOTICE_FIELD])[NOTICE_FIELD];
  }

  /** Why `incident` does not let this customer's address be opened, if it does not. */
  private async refusal(id: string, customerId: string) {
    const incident = await this.deps.store.incidents.get(id);
    if (!incident) return { reason: 'not_found' as const, error: new NotFoundError(`no incident "${id}": notices go only to the customers of an incident in the store`) };
    if (incident.state !== 'notifying') return { reason: 'conflict' as const, error: new ConflictError(`incident "${id}" is ${incident.state}, not notifying: no notice is sent for it`) };
    let affected = this.affected.get(id);
    if (!affected) {
      affected = this.deps.affectedBy(incident).then((ids) => new Set(ids));
      this.affected.set(id, affected);
    }
    if (!(await affected).has(customerId)) {
      return { reason: 'purpose_not_linked' as const, error: denied('purpose_not_linked', `incident "${id}" did not affect this customer: no notice is sent to them`) };
    }
    return undefined;
  }
}
