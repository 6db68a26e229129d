/**
 * The one clear value a customer notice needs: the customer's e-mail address, opened here (the
 * broker is the only code that decrypts) for one (incident, customer), after Cedar's `notify`
 * decision is recorded in the ledger as an export of that customer's `email`.
 */
import type { Actor } from './acts.ts';
import type { EventTarget } from '../model.ts';
import type { PolicyDecision, PolicyEngine } from '../policy/index.ts';
import type { Store } from '../store/store.ts';
import type { Vault } from '../vault/index.ts';
import { openerFor, type FieldOpener } from '../vault/decrypt.ts';
import { DecisionLog, type DecisionFacts, type RequestContext } from './decision-log.ts';
import type { Recorder } from './recorder.ts';

export interface NoticeAddressDeps {
  store: Store;
  vault: Vault;
  policy: Pick<PolicyEngine, 'decide'>;
  recorder: Recorder;
  now: () => Date;
}

const NOTICE_FIELD = 'email';
/** A host's OS user is recorded, not decided (acts.ts): they hold the key files anyway. */
const HOST_ALLOW: PolicyDecision = Object.freeze({ decision: 'allow', policies: [] }) as PolicyDecision;

export class NoticeAddresses {
  private readonly decisions: DecisionLog;
  private readonly opener: FieldOpener;

  constructor(private readonly deps: NoticeAddressDeps) {
    this.decisions = new DecisionLog(deps.recorder, deps.now);
    // Each customer is written to once: keeping their data key would only keep it in memory longer.
    this.opener = openerFor(deps.vault, { dataKeyCacheSize: 0 });
  }

  /**
   * The address to send `incident`'s notice to, or undefined when the customer no longer exists
   * or holds no e-mail address (nothing is opened, so nothing is recorded). Decided (an
   * employee: Cedar's `notify`; the host: recorded only) and recorded before it is opened; a
   * deny is recorded and thrown (ForbiddenError).
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
    await this.decisions.enforce(facts, decision, ctx);
    return this.opener.open(customer, [NOTICE_FIELD])[NOTICE_FIELD];
  }
}
