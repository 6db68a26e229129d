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

export function median(xs: ArrayLike<number>, n = xs.length): number {
  if (n === 0) return 0;
  const s = Float64Array.from({ length: n }, (_, i) => xs[i] as number).sort();
  const mid = n >> 1;
  return n % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: ArrayLike<number>, n: number, p: number): number {
  if (n === 0) return 0;
  const s = Float64Array.from({ length: n }, (_, i) => xs[i] as number).sort();
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

export function robust(xs: ArrayLike<number>, n: number): Robust {
  if (n === 0) return { days: 0, median: 0, sigma: 0, max: 0 };
  const m = median(xs, n);
  const dev = new Float64Array(n);
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
  private cached: { forDay: number; all: Robust; monday: Robust } | undefined;

  /** Moves to `day` (the person is active on it); returns the value the closed day ended with, or undefined. */
  roll(day: number): number | undefined {
    if (day <= this.day) return undefined;
    const closed = this.day >= 0 ? this.today : undefined;
    if (closed !== undefined) {
      this.history.push(closed);
      this.week.push(closed);
      if (isMonday(this.day)) this.mondays.push(closed);
    }
    this.day = day;
    this.today = 0;
    return closed;
  }

  /** Active days before today in the history. */
  get days(): number {
    return this.history.length;
  }

  /** Today's value plus the previous 6 active days'. */
  weekTotal(): number {
    return this.today + this.week.sum();
  }

  /** The baseline today is compared with, frozen for the day (computed once). */
  baseline(): Robust {
    if (!this.cached || this.cached.forDay !== this.day) {
      this.cached = {
        forDay: this.day,
        all: robust(this.history.data, this.history.length),
        monday: robust(this.mondays.data, this.mondays.length),
      };
    }
    return isMonday(this.day) && this.cached.monday.days >= 3 ? this.cached.monday : this.cached.all;
  }

  /** How much above the usual today's value may go: a Monday without its own history gets more room. */
  limit(k: number, floor: number): number {
    const b = this.baseline();
    const slack = isMonday(this.day) && this.mondays.length < 3 ? 1.6 : 1;
    return Math.max(floor, (b.median + k * Math.max(b.sigma, 0.25 * b.median, 1)) * slack);
  }
}

const PEER_SAMPLES = 400;

/**
 * A peer group's employee-days for one metric: each member's closed days are pushed in, and
 * today's limit is a high percentile of them. Recomputed at most once per day.
 */
export class PeerMetric {
  private readonly samples = new Ring(PEER_SAMPLES);
  private cachedDay = -1;
  private cached = { p95: 0, p99: 0, median: 0, n: 0 };

  push(value: number): void {
    this.samples.push(value);
  }

  stats(day: number): { p95: number; p99: number; median: number; n: number } {
    if (day !== this.cachedDay) {
      const n = this.samples.length;
      const d = this.samples.data;
      this.cached = { p95: percentile(d, n, 95), p99: percentile(d, n, 99), median: median(d, n), n };
      this.cachedDay = day;
    }
    return this.cached;
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
