import { afterAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../../test/support/stores.ts';
import { DAY_MS, HOUR_MS } from './budgets.ts';
import { Store } from './store.ts';

const T0 = Date.parse('2026-03-02T09:00:00Z');

for (const target of storeTargets()) {
  describe(`budgets in the store on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('allows exactly the hour and day budget, gives a released use back, and lets uses age out', async () => {
      const store = await Store.open(target.location());
      try {
        const limits = { perHour: 3, perDay: 5 };
        const b = store.budgets;
        const first = await b.tryReserve('emp-1', 'reveal', limits, T0);
        expect(first).toBeDefined();
        expect(await b.tryReserve('emp-1', 'reveal', limits, T0 + 1)).toBeDefined();
        expect(await b.tryReserve('emp-1', 'reveal', limits, T0 + 2)).toBeDefined();
        expect(await b.tryReserve('emp-1', 'reveal', limits, T0 + 3)).toBeUndefined();
        // Other actors and other kinds have budgets of their own.
        expect(await b.tryReserve('emp-2', 'reveal', limits, T0 + 3)).toBeDefined();
        expect(await b.tryReserve('emp-1', 'search', limits, T0 + 3)).toBeDefined();
        await first!.release();
        expect(await b.usage('emp-1', 'reveal', T0 + 4)).toEqual({ lastHour: 2, lastDay: 2 });
        expect(await b.tryReserve('emp-1', 'reveal', limits, T0 + 4)).toBeDefined();
        // An hour on, the hourly budget is back; the day's is not.
        expect(await b.tryReserve('emp-1', 'reveal', limits, T0 + HOUR_MS + 5)).toBeDefined();
        expect(await b.tryReserve('emp-1', 'reveal', limits, T0 + HOUR_MS + 6)).toBeDefined();
        expect(await b.tryReserve('emp-1', 'reveal', limits, T0 + HOUR_MS + 7)).toBeUndefined();
        expect(await b.usage('emp-1', 'reveal', T0 + HOUR_MS + 7)).toEqual({ lastHour: 2, lastDay: 5 });
        // A day after the first uses, they are gone (and pruned).
        expect(await b.tryReserve('emp-1', 'reveal', limits, T0 + DAY_MS + 5)).toBeDefined();
        expect(await b.usage('emp-1', 'reveal', T0 + DAY_MS + 5)).toEqual({ lastHour: 1, lastDay: 3 });
        // A zero budget allows nothing.
        expect(await b.tryReserve('adm-1', 'reveal', { perHour: 0, perDay: 0 }, T0)).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('never overshoots under concurrent reservations from two stores on one location', async () => {
      const loc = target.location();
      const stores = [await Store.open(loc), await Store.open(loc)];
      try {
        const limits = { perHour: 60, perDay: 300 };
        const got = await Promise.all(Array.from({ length: 150 }, (_, i) => stores[i % 2]!.budgets.tryReserve('emp-86', 'reveal', limits, T0 + i)));
        expect(got.filter(Boolean)).toHaveLength(60);
        expect(await stores[1]!.budgets.usage('emp-86', 'reveal', T0 + 200)).toEqual({ lastHour: 60, lastDay: 60 });
      } finally {
        for (const s of stores) await s.close();
      }
    });

    it('decides reservations asked for together exactly, per actor, kind and limits (SQLite: in the order asked)', async () => {
      const store = await Store.open(target.location());
      try {
        const b = store.budgets;
        const small = { perHour: 3, perDay: 3 };
        const large = { perHour: 5, perDay: 5 };
        // Asked in one turn: interleaved actors and kinds, and one actor under two limits (a role change).
        const asks = Array.from({ length: 24 }, (_, i) => {
          const actor = i % 3 === 0 ? 'emp-a' : 'emp-b';
          const kind = i % 2 === 0 ? 'reveal' : 'search';
          const limits = actor === 'emp-b' && i >= 12 ? large : small;
          return { i, actor, kind, p: b.tryReserve(actor, kind, limits, T0 + i) };
        });
        const granted = await Promise.all(asks.map((a) => a.p));
        const grantedOf = (actor: string, kind: 'reveal' | 'search') => asks.filter((a, j) => a.actor === actor && a.kind === kind && granted[j]).map((a) => a.i);
        expect([grantedOf('emp-a', 'reveal'), grantedOf('emp-a', 'search'), grantedOf('emp-b', 'reveal'), grantedOf('emp-b', 'search')].map((g) => g.length)).toEqual([3, 3, 5, 5]);
        if (target.name === 'sqlite') {
          // One batch, decided in the order asked: the first asks win; emp-b's later asks see its larger limit against the same count.
          expect(grantedOf('emp-a', 'reveal')).toEqual([0, 6, 12]);
          expect(grantedOf('emp-b', 'reveal')).toEqual([2, 4, 8, 14, 16]);
        }
        expect(await b.usage('emp-b', 'search', T0 + 30)).toEqual({ lastHour: 5, lastDay: 5 });
        await granted[1]!.release();
        expect(await b.usage('emp-b', 'search', T0 + 30)).toEqual({ lastHour: 4, lastDay: 4 });
      } finally {
        await store.close();
      }
    });

    it('seeds a kind from past uses once, whoever asks', async () => {
      const loc = target.location();
      const stores = [await Store.open(loc), await Store.open(loc)];
      try {
        const past = [{ actor: 'emp-9', timeMs: T0 - 10 }, { actor: 'emp-9', timeMs: T0 - 5 }];
        let loads = 0;
        const load = async () => {
          loads++;
          return past;
        };
        await Promise.all(stores.map((s) => s.budgets.seedOnce('reveal', load)));
        await stores[0]!.budgets.seedOnce('reveal', load);
        expect(await stores[0]!.budgets.usage('emp-9', 'reveal', T0)).toEqual({ lastHour: 2, lastDay: 2 });
        expect(loads).toBeLessThanOrEqual(2);
        expect(await stores[0]!.budgets.usage('emp-9', 'search', T0)).toEqual({ lastHour: 0, lastDay: 0 });
      } finally {
        for (const s of stores) await s.close();
      }
    });
  });
}
