/**
 * The fixed-size statistics every detector compares with: a person's own daily history (robust
 * median/MAD, Monday-aware), their peer group's distribution of employee-days, and a bounded
 * distinct-count. Nothing here grows with the number of events.
 */

const DAY_MS = 86_400_000;

/** UTC day number of an epoch-ms time. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** 1 for Monday (day 0, 1970-01-01, was a Thursday). */
export function isMonday(day: number): boolean {
  return (day + 4) % 7 === 1;
}

/** Reused by sortedCopy: medians are taken per person per day by the million, each of a few dozen values. */
let scratch = new Float64Array(64);

/**
 * The first `n` values, sorted, in a buffer shared by every call (valid until the next call).
 * Small inputs by insertion sort (what the typed-array sort costs is its call, at this size);
 * numbers have one sorted order, so the values read from it are the same either way.
 */
function sortedCopy(xs: ArrayLike<number>, n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  const s = scratch;
  if (n > 32) return sortedByTypedArray(xs, n);
  for (let i = 0; i < n; i++) {
    const x = xs[i] as number;
    // NaN has no place in that order: the typed-array sort's (last) then.
    if (x !== x) return sortedByTypedArray(xs, n);
    let j = i;
    while (j > 0 && (s[j - 1] as number) > x) {
      s[j] = s[j - 1] as number;
      j--;
    }
    s[j] = x;
  }
  return s;
}

function sortedByTypedArray(xs: ArrayLike<number>, n: number): Float64Array {
  const s = scratch;
  for (let i = 0; i < n; i++) s[i] = xs[i] as number;
  return s.subarray(0, n).sort();
}

export function median(xs: ArrayLike<number>, n = xs.length): number {
  if (n === 0) return 0;
  const s = sortedCopy(xs, n);
  const mid = n >> 1;
  return n % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: ArrayLike<number>, n: number, p: number): number {
  if (n === 0) return 0;
  const s = sortedCopy(xs, n);
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return s[rank - 1] as number;
}

/** A robust summary of a history: median and MAD scaled to a normal σ. */
export interface Robust {
  days: number;
  median: number;
  /** 1.4826 × median absolute deviation. */
  sigma: number;
  max: number;
}

/** Reused by robust (apart from sortedCopy's buffer, which its median sorts into). */
let deviations = new Float64Array(64);

export function robust(xs: ArrayLike<number>, n: number): Robust {
  if (n === 0) return { days: 0, median: 0, sigma: 0, max: 0 };
  const m = median(xs, n);
  if (deviations.length < n) deviations = new Float64Array(Math.max(n, 2 * deviations.length));
  const dev = deviations;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i] as number;
    dev[i] = Math.abs(x - m);
    if (x > max) max = x;
  }
  return { days: n, median: m, sigma: 1.4826 * median(dev, n), max };
}

/** The last `size` values pushed, oldest overwritten first. */
export class Ring {
  private readonly values: Float64Array;
  private next = 0;
  private filled = 0;
  constructor(size: number) {
    this.values = new Float64Array(size);
  }
  push(x: number): void {
    this.values[this.next] = x;
    this.next = (this.next + 1) % this.values.length;
    if (this.filled < this.values.length) this.filled++;
  }
  get length(): number {
    return this.filled;
  }
  /** Values in no particular order (order does not matter to medians and percentiles). */
  get data(): Float64Array {
    return this.values;
  }
  sum(): number {
    let s = 0;
    for (let i = 0; i < this.filled; i++) s += this.values[i] as number;
    return s;
  }
}

const HISTORY_DAYS = 28;
const MONDAYS = 6;

/**
 * One metric of one person, per active day: today's running value, and the values of the last
 * 28 days they were active (Mondays also kept apart, since Monday peaks are normal). A day with
 * no events is not a day of zero: leave and weekends do not drag the baseline down.
 */
export class DailyMetric {
  today = 0;
  day = -1;
  private readonly history = new Ring(HISTORY_DAYS);
  private readonly mondays = new Ring(MONDAYS);
  /** The previous 6 active days' values (for slow patterns: a few a day over a week). */
  private readonly week = new Ring(6);
  /** The 7-active-day totals that ended on each of the last 28 active days. */
  private readonly weeks = new Ring(HISTORY_DAYS);
  /** The day's baselines, each computed when first asked for (undefined: not since the last roll). */
  private all: Robust | undefined;
  private monday: Robust | undefined;
  private weeksOf: Robust | undefined;
  /** What the last roll closed: the day's value and the 7-day total ending with it. */
  closedWeek = 0;
  /** Figures of the history, which changes only when a day is closed (NaN: not computed since). */
  private weekSum = 0;
  private meanOf = Number.NaN;
  private highOf = Number.NaN;
  private weeklyHighOf = Number.NaN;

  /** Moves to `day` (the person is active on it); returns the value the closed day ended with, or undefined. */
  roll(day: number): number | undefined {
    if (day <= this.day) return undefined;
    const closed = this.day >= 0 ? this.today : undefined;
    if (closed !== undefined) {
      this.closedWeek = closed + this.week.sum();
      this.history.push(closed);
      this.weeks.push(this.closedWeek);
      this.week.push(closed);
      if (isMonday(this.day)) this.mondays.push(closed);
      this.weekSum = this.week.sum();
      this.meanOf = this.highOf = this.weeklyHighOf = Number.NaN;
    }
    this.day = day;
    this.today = 0;
    this.all = this.monday = this.weeksOf = undefined;
    return closed;
  }

  /** Active days before today in the history. */
  get days(): number {
    return this.history.length;
  }

  /** Today's value plus the previous 6 active days'. */
  weekTotal(): number {
    return this.today + this.weekSum;
  }

  /** The baseline today is compared with, frozen for the day (computed once). */
  baseline(): Robust {
    if (isMonday(this.day) && this.mondays.length >= 3) return (this.monday ??= robust(this.mondays.data, this.mondays.length));
    return (this.all ??= robust(this.history.data, this.history.length));
  }

  /** The baseline of 7-day totals. */
  weeklyBaseline(): Robust {
    return (this.weeksOf ??= robust(this.weeks.data, this.weeks.length));
  }

  /** Mean per active day over the history. */
  mean(): number {
    if (Number.isNaN(this.meanOf)) this.meanOf = this.history.length === 0 ? 0 : this.history.sum() / this.history.length;
    return this.meanOf;
  }

  /** A high but ordinary day of this person's: the 95th percentile of their history. */
  high(): number {
    if (Number.isNaN(this.highOf)) this.highOf = percentile(this.history.data, this.history.length, 95);
    return this.highOf;
  }

  weeklyHigh(): number {
    if (Number.isNaN(this.weeklyHighOf)) this.weeklyHighOf = percentile(this.weeks.data, this.weeks.length, 95);
    return this.weeklyHighOf;
  }

  weeklyLimit(k: number, floor: number): number {
    const b = this.weeklyBaseline();
    return Math.max(floor, b.median + k * Math.max(b.sigma, 0.25 * b.median, 0.5));
  }

  /** How much above the usual today's value may go: a Monday without its own history gets more room. */
  limit(k: number, floor: number): number {
    const b = this.baseline();
    const slack = isMonday(this.day) && this.mondays.length < 3 ? 1.6 : 1;
    return Math.max(floor, (b.median + k * Math.max(b.sigma, 0.25 * b.median, 0.5)) * slack);
  }
}

/**
 * Distinct ids seen today, exact up to `cap` and counted as new past it (an over-count that only
 * matters far above any threshold). Cleared each day: memory is bounded by the cap.
 */
export class DistinctToday {
  private readonly seen = new Set<string>();
  private extra = 0;
  day = -1;
  constructor(private readonly cap = 4096) {}

  /** True if `id` is new today. */
  add(day: number, id: string): boolean {
    if (day !== this.day) {
      this.day = day;
      this.seen.clear();
      this.extra = 0;
    }
    if (this.seen.has(id)) return false;
    if (this.seen.size < this.cap) this.seen.add(id);
    else this.extra++;
    return true;
  }

  get count(): number {
    return this.seen.size + this.extra;
  }
}

/** Peer group key: same team and role. */
export function peerKey(team: string, role: string): string {
  return `${team}\u0000${role}`;
}

const HOUR_MS = 3_600_000;
/** Events and UTC days seen before a person's day boundary is learned. */
const CLOCK_WARM_EVENTS = 60;
const CLOCK_WARM_DAYS = 3;

/**
 * Where a person's working day begins. Shifts in other time zones (and night shifts) cross UTC
 * midnight; counting "per day" from UTC midnight would cut their day in two. Once a few days of
 * their activity are seen, their day starts at the quietest hour of their own histogram, fixed
 * from then on (so each day number keeps one meaning).
 */
export class WorkdayClock {
  private readonly hours = new Uint32Array(24);
  private events = 0;
  private days = 0;
  private lastUtcDay = -1;
  /** Hour (UTC) at which this person's day begins; undefined while still learning. */
  boundary: number | undefined;

  /** The person's day number for an event at `ms` (learning from it). */
  dayOf(ms: number): number {
    if (this.boundary === undefined) {
      const utcDay = dayOf(ms);
      if (utcDay !== this.lastUtcDay) {
        this.lastUtcDay = utcDay;
        this.days++;
      }
      this.hours[new Date(ms).getUTCHours()]!++;
      this.events++;
      if (this.events >= CLOCK_WARM_EVENTS && this.days >= CLOCK_WARM_DAYS) this.boundary = quietestHour(this.hours);
      return utcDay;
    }
    // Shifted back by less than a day, so the first shifted day number may repeat the last UTC
    // one: detectors never move their day backwards, and the repeat merges into it.
    return Math.floor((ms - this.boundary * HOUR_MS) / DAY_MS);
  }
}

/** The start of the quietest three-hour stretch (the middle of someone's night). */
function quietestHour(hours: Uint32Array): number {
  let best = 0;
  let bestCount = Number.POSITIVE_INFINITY;
  for (let h = 0; h < 24; h++) {
    const c = (hours[h] as number) + (hours[(h + 1) % 24] as number) + (hours[(h + 2) % 24] as number);
    if (c < bestCount) {
      bestCount = c;
      best = (h + 1) % 24;
    }
  }
  return best;
}

/** P(X ≥ k) for X ~ Poisson(λ). */
export function poissonTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  let term = Math.exp(-lambda);
  let below = term;
  for (let i = 1; i < k; i++) {
    term *= lambda / i;
    below += term;
  }
  return Math.max(1e-15, 1 - below);
}

/**
 * How surprising `count` rare events are at rate λ, as a score: 14 per factor of ten of
 * improbability (two in a day where the usual rate is one in fifty days scores about 50).
 */
export function surpriseScore(count: number, lambda: number, cap = 90): number {
  return Math.min(cap, 14 * -Math.log10(poissonTail(count, lambda)));
}
