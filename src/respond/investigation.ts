/**
 * Looking into what an employee did is itself an access: decided by Cedar (`investigate`, the
 * subject as resource) and recorded in the ledger before anything is read.
 */
import type { ActDetails, ActLog, Actor } from '../broker/acts.ts';
import type { RequestContext } from '../broker/decision-log.ts';
import type { RecordedEvent } from '../model.ts';

/** What response work needs of the act log: decide and record an act before it takes effect. */
export type ActAuthorizer = Pick<ActLog, 'authorize'>;

/** Decide and record that `actor` reads what `subject` did; throws ForbiddenError (recorded) on a deny. */
export function recordedInvestigation(acts: ActAuthorizer, actor: Actor, subject: string, details: ActDetails, ctx: RequestContext): Promise<RecordedEvent> {
  return acts.authorize(actor, {
    request: { action: 'investigate', resource: { type: 'Employee', id: subject } },
    action: 'view',
    target: { type: 'employee', id: subject },
    operation: 'read',
    details,
  }, ctx);
}

/** Decide and record that `actor` reads what every employee did (attribution of a leaked list). */
export function recordedSweep(acts: ActAuthorizer, actor: Actor, details: ActDetails, ctx: RequestContext): Promise<RecordedEvent> {
  return acts.authorize(actor, {
    request: { action: 'investigate', resource: { type: 'Directory', id: 'employees' } },
    action: 'view',
    target: { type: 'directory', id: 'employees' },
    operation: 'read',
    details,
  }, ctx);
}
