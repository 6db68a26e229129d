/**
 * Deny reasons as policies name them (`@reason("...")` on a forbid) and the order in which
 * they are reported when several forbids apply: the most fundamental refusal wins, so a
 * suspended actor hears "suspended", not "wrong field".
 */
import type { DenyReason } from '../errors.ts';

// A Record, not a list, so that a reason added to errors.ts fails to compile here until ranked.
const RANK: Record<DenyReason, number> = {
  actor_unknown: 0,
  actor_suspended: 1,
  canary: 2,
  no_purpose: 3,
  purpose_not_linked: 4,
  case_closed: 5,
  field_not_allowed: 6,
  budget_exceeded: 7,
  separation_of_duties: 8,
  not_permitted: 9,
};

/** Every deny reason, most important first. */
export const DENY_REASONS: readonly DenyReason[] = (Object.keys(RANK) as DenyReason[]).sort((a, b) => RANK[a] - RANK[b]);

export function isDenyReason(value: string): value is DenyReason {
  return Object.hasOwn(RANK, value);
}

/** The reason to report among those of the forbids that applied; `not_permitted` when none did. */
export function mostImportantReason(reasons: Iterable<DenyReason>): DenyReason {
  let best: DenyReason = 'not_permitted';
  for (const r of reasons) if (RANK[r] < RANK[best]) best = r;
  return best;
}
