import { describe, expect, it } from 'vitest';
import { RollingBudget } from './budget.ts';

const t0 = Date.parse('2026-11-01T10:00:00Z');

describe('RollingBudget', () => {
  it('allows up to the hourly budget, then refuses until the hour has passed', () => {
    const b = new RollingBudget();
    const limits = { perHour: 3, perDay: 10 };
    for (let i = 0; i < 3; i++) expect(b.tryReserve('a', limits, t0 + i)).toBeDefined();
    expect(b.tryReserve('a', limits, t0 + 10)).toBeUndefined();
    expect(b.tryReserve('other', limits, t0 + 10)).toBeDefined();
    expect(b.tryReserve('a', limits, t0 + 3_600_001)).toBeDefined();
  });

  it('enforces the daily budget across hours and forgets after a day', () => {
    const b = new RollingBudget();
    const limits = { perHour: 100, perDay: 4 };
    for (let h = 0; h < 4; h++) expect(b.tryReserve('a', limits, t0 + h * 3_600_000)).toBeDefined();
    expect(b.tryReserve('a', limits, t0 + 5 * 3_600_000)).toBeUndefined();
    expect(b.tryReserve('a', limits, t0 + 24 * 3_600_000 + 1)).toBeDefined();
  });

  it('gives a reserved slot back when released, and counts seeded history', () => {
    const b = new RollingBudget();
    const limits = { perHour: 2, perDay: 10 };
    b.seed('a', t0 - 1000);
    const release = b.tryReserve('a', limits, t0);
    expect(release).toBeDefined();
    expect(b.tryReserve('a', limits, t0 + 1)).toBeUndefined();
    release!();
    expect(b.usage('a', t0 + 2)).toEqual({ lastHour: 1, lastDay: 1 });
    expect(b.tryReserve('a', limits, t0 + 2)).toBeDefined();
  });
});
