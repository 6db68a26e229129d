/**
 * Writing a decision down: every broker and management path goes through here, so every
 * decision — allowed or denied — becomes one access event in the ledger, or the request fails.
 */
import { randomUUID } from 'node:crypto';
import { ForbiddenError, UnavailableError, type DenyReason, type RecordedReason } from '../errors.ts';
import type { AccessEvent, RecordedEvent } from '../model.ts';
import type { PolicyDecision } from '../policy/index.ts';
import type { Recorder } from './recorder.ts';

/** Where a request came from, recorded with its decision. */
export interface RequestContext {
  channel: 'api' | 'cli';
  ip?: string;
}

export type DecisionFacts = Omit<AccessEvent, 'id' | 'time' | 'channel' | 'ip' | 'decision' | 'reason'>;

export class DecisionLog {
  constructor(
    private readonly recorder: Recorder,
    private readonly now: () => Date,
  ) {}

  /** Record `decision`; on a deny, throw the matching 403 once it is recorded. */
  async enforce(facts: DecisionFacts, decision: PolicyDecision, ctx: RequestContext): Promise<RecordedEvent> {
    const recorded = await this.write({
      ...facts,
      decision: decision.decision,
      ...(decision.decision === 'deny' ? { reason: decision.reason ?? 'not_permitted' } : {}),
    }, ctx);
    if (decision.decision === 'deny') throw denied(decision.reason ?? 'not_permitted');
    return recorded;
  }

  /** Record a denial without throwing: one that is not Cedar's (budget, missing record), or one answered with another reason (canaries). */
  async deny(facts: DecisionFacts, reason: RecordedReason, ctx: RequestContext): Promise<RecordedEvent> {
    return this.write({ ...facts, decision: 'deny', reason }, ctx);
  }

  private async write(e: Omit<AccessEvent, 'id' | 'time' | 'channel' | 'ip'>, ctx: RequestContext): Promise<RecordedEvent> {
    const event: AccessEvent = {
      id: randomUUID(),
      time: this.now().toISOString(),
      ...e,
      channel: ctx.channel,
      ...(ctx.ip ? { ip: ctx.ip } : {}),
    };
    try {
      return await this.recorder.record(event);
    } catch (err) {
      throw err instanceof UnavailableError ? err : new UnavailableError('the access ledger could not record this decision; no data was returned');
    }
  }
}

export function denied(reason: DenyReason, message: string = DENY_MESSAGES[reason]): ForbiddenError {
  return new ForbiddenError(message, reason);
}

const DENY_MESSAGES: Record<DenyReason, string> = {
  no_purpose: 'a reveal needs a purpose: {"kind":"case","ref":"<case id>"}',
  purpose_not_linked: 'the case does not link you to this customer',
  case_closed: 'the case is closed',
  field_not_allowed: 'your role may not reveal one of these fields',
  budget_exceeded: 'your budget for this hour or day is spent',
  actor_suspended: 'your access is suspended',
  actor_unknown: 'you are not a known employee',
  canary: 'this record may not be revealed',
  // One reason for every policy that keeps people off their own record, so the message names them all.
  separation_of_duties: 'separation of duties: nobody acts on their own role, status or cases, nor on alerts, risk, investigations or incidents about themselves',
  not_permitted: 'not permitted by policy',
};
