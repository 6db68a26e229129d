/**
 * Per-actor budgets of acts (per rolling hour and day, by role): reveals, and searches, which
 * would otherwise make the blind index an oracle for guessed e-mails and phone numbers. One
 * RollingBudget per budgeted action. Kept in memory, bounded by employees × their daily
 * budget, seeded from the event index at start so a restart does not hand out a fresh budget.
 * A slot is reserved before the decision is recorded, so concurrent acts cannot overshoot,
 * and released if the act does not happen.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The actions a budget limits; each is counted apart. */
export const BUDGETED_ACTIONS = ['reveal', 'search'] as const;
export type BudgetedAction = (typeof BUDGETED_ACTIONS)[number];

export interface BudgetLimits {
  perHour: number;
  perDay: number;
}

export class RollingBudget {
  /** actor → times (ms) of allowed acts in the last day, ascending. */
  private readonly used = new Map<string, number[]>();

  seed(actor: string, timeMs: number): void {
    const list = this.used.get(actor) ?? [];
    list.push(timeMs);
    this.used.set(actor, list);
  }

  /** Reserve one act at `nowMs`; returns a release function, or undefined when the budget is spent. */
  tryReserve(actor: string, limits: BudgetLimits, nowMs: number): (() => void) | undefined {
    const list = this.prune(actor, nowMs);
    const inLastHour = list.length - lowerBound(list, nowMs - HOUR);
    if (list.length >= limits.perDay || inLastHour >= limits.perHour) return undefined;
    list.push(nowMs);
    this.used.set(actor, list);
    return () => {
      const i = list.lastIndexOf(nowMs);
      if (i >= 0) list.splice(i, 1);
    };
  }

  usage(actor: string, nowMs: number): { lastHour: number; lastDay: number } {
    const list = this.prune(actor, nowMs);
    return { lastHour: list.length - lowerBound(list, nowMs - HOUR), lastDay: list.length };
  }

  private prune(actor: string, nowMs: number): number[] {
    const list = this.used.get(actor) ?? [];
    const keepFrom = lowerBound(list, nowMs - DAY + 1);
    if (keepFrom > 0) list.splice(0, keepFrom);
    return list;
  }
}

/** First index whose value is >= x in an ascending list. */
function lowerBound(list: number[], x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
