/**
 * Acts on Custos itself rather than on a customer — imports, tokens, key rotations, ledger
 * reads — decided and written down like every access: Cedar decides for an employee, the
 * decision is recorded (allowed or denied) before the act takes effect, and a deny stops it.
 */
import { InvalidInputError, NotFoundError, type ConflictError } from '../errors.ts';
import type { AccessAction, AttributeChange, EventTarget, Operation, RecordedEvent } from '../model.ts';
import type { DecideRequest, PolicyEngine } from '../policy/index.ts';
import type { Store } from '../store/store.ts';
import { DecisionLog, type RequestContext } from './decision-log.ts';
import type { Recorder } from './recorder.ts';

/**
 * Who acts: an employee (a token's subject, or `custos --as ID`), whom Cedar decides for; or
 * the host's OS user running the `custos` command without `--as`, who holds the key files and
 * the store's credentials anyway, so the act is recorded under that name but not decided.
 */
export type Actor = { kind: 'employee'; id: string; /** The OS user who ran `--as`: nothing authenticates the name given. */ runBy?: string } | { kind: 'host'; id: string };

type WithoutActor<T> = T extends unknown ? Omit<T, 'actor' | 'now'> : never;

export type ActDetails = Record<string, string | number | boolean>;

export interface Act {
  /** What Cedar is asked when the actor is an employee. */
  request: WithoutActor<DecideRequest>;
  action: AccessAction;
  target: EventTarget;
  operation: Operation;
  details?: ActDetails;
  /** Before → after of what the act changes (non-PII attributes). */
  change?: Record<string, AttributeChange>;
}

export interface ActLogDeps {
  store: Store;
  policy: Pick<PolicyEngine, 'decide'>;
  recorder: Recorder;
  now: () => Date;
}

export class ActLog {
  private readonly decisions: DecisionLog;

  constructor(private readonly deps: ActLogDeps) {
    this.decisions = new DecisionLog(deps.recorder, deps.now);
  }

  /**
   * Decide and record `act` before it takes effect. On a deny the denial is recorded and a
   * ForbiddenError thrown; if the ledger cannot record, UnavailableError: either way, do nothing.
   * An allowed act that cannot go ahead (`refusal`: what it names is missing, its state forbids
   * it, or it names fields no record holds) is recorded as a denial with reason `not_found`,
   * `conflict` or `field_unknown`, and the refusal thrown: only those who may act learn that a
   * record is missing.
   */
  async authorize(actor: Actor, act: Act, ctx: RequestContext, refusal?: NotFoundError | ConflictError | InvalidInputError): Promise<RecordedEvent> {
    const decision = actor.kind === 'host'
      ? { decision: 'allow' as const, policies: [] }
      : this.deps.policy.decide({ ...act.request, actor: await this.deps.store.employees.get(actor.id), now: this.deps.now() } as DecideRequest);
    if (decision.decision === 'allow' && refusal) {
      await this.decisions.deny(factsOf(actor, act, act.details), refusal instanceof NotFoundError ? 'not_found' : refusal instanceof InvalidInputError ? 'field_unknown' : 'conflict', ctx);
      throw refusal;
    }
    return this.decisions.enforce(factsOf(actor, act, act.details), decision, ctx);
  }

  /** Record what an authorized act did (counts, new key ids), as a second entry after its decision. */
  async recordOutcome(actor: Actor, act: Act, outcome: ActDetails, ctx: RequestContext): Promise<RecordedEvent> {
    return this.decisions.enforce(factsOf(actor, act, { ...act.details, ...outcome }), { decision: 'allow', policies: [] }, ctx);
  }
}

function factsOf(actor: Actor, act: Act, given: ActDetails | undefined) {
  const details = actor.kind === 'employee' && actor.runBy ? { ...given, runBy: actor.runBy } : given;
  return {
    actor: actor.id,
    action: act.action,
    customers: [],
    fields: [],
    target: act.target,
    operation: act.operation,
    ...(act.change ? { change: act.change } : {}),
    ...(details && Object.keys(details).length > 0 ? { details } : {}),
  };
}
