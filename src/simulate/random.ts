/**
 * The simulator's one random source. Every draw comes from a stream derived from the run's
 * seed and a few integers (employee, day, purpose), so the same seed writes the same files and
 * a change to one employee's behaviour does not shift every other employee's draws.
 */

/** A 32-bit mix of integers (murmur3's finaliser over each): the seed of one derived stream. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** mulberry32: small, fast, and good enough for simulation (not for secrets). */
export class Rng {
  #a: number;

  constructor(seed: number) {
    this.#a = seed >>> 0;
  }

  /** An independent stream for (this seed's) `parts`. */
  static derive(seed: number, ...parts: number[]): Rng {
    return new Rng(mixSeed(seed, ...parts));
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** Uniform real in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Log-normal with median 1 and the given spread (sigma of the log). */
  logNormal(sigma: number): number {
    return Math.exp(sigma * this.normal());
  }

  /** Poisson count with mean `mean` (Knuth below 30, a rounded normal above). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** `k` distinct items of `list` (k ≤ list.length), in draw order. */
  sample<T>(list: readonly T[], k: number): T[] {
    const n = list.length;
    const chosen = new Set<number>();
    const out: T[] = [];
    while (out.length < Math.min(k, n)) {
      const i = this.int(n);
      if (chosen.has(i)) continue;
      chosen.add(i);
      out.push(list[i]!);
    }
    return out;
  }
}
