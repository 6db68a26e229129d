import { afterAll, describe, expect, it } from 'vitest';
import { openTestStore, storeTargets } from '../../test/support/stores.ts';
import type { CaseRecord } from '../model.ts';

const now = new Date('2026-11-01T10:00:00Z');
const later = new Date('2026-11-01T11:00:00Z');

for (const target of storeTargets()) {
  describe(`cases on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('opens a case with its first act, once; a second open of the id writes nothing', async () => {
      const store = await openTestStore(target);
      try {
        const k: CaseRecord = { id: 'k1', employee: 'e1', customer: 'c1', openedAt: now.toISOString(), kind: 'refund' };
        expect(await store.cases.open(k, { at: k.openedAt, operation: 'open', employee: 'e1', actor: 's1', seq: 7 }, now)).toBe(true);
        expect(await store.cases.open({ ...k, employee: 'e2' }, { at: k.openedAt, operation: 'open', employee: 'e2', actor: 's1', seq: 8 }, now)).toBe(false);
        expect((await store.cases.get('k1'))?.employee).toBe('e1');
        expect(await store.cases.history(k)).toEqual([{ at: k.openedAt, operation: 'open', employee: 'e1', actor: 's1', seq: 7 }]);
      } finally {
        await store.close();
      }
    });

    it('keeps every assignment: an imported case gets what it carried first, then each act', async () => {
      const store = await openTestStore(target);
      try {
        const imported: CaseRecord = { id: 'k2', employee: 'e1', customer: 'c1', openedAt: '2026-01-01T00:00:00.000Z', closedAt: '2026-02-01T00:00:00.000Z', kind: 'refund' };
        await store.cases.upsertMany([imported], now);
        expect((await store.cases.history(imported)).map((e) => e.operation)).toEqual(['open', 'close']);
        const reopened = { ...imported, closedAt: undefined } as CaseRecord;
        delete reopened.closedAt;
        expect(await store.cases.transition(imported, reopened, { at: now.toISOString(), operation: 'reopen', employee: 'e1', actor: 's1', seq: 3 }, now)).toBe(true);
        const moved = { ...reopened, employee: 'e2' };
        expect(await store.cases.transition(reopened, moved, { at: later.toISOString(), operation: 'reassign', employee: 'e2', actor: 's1', seq: 4 }, later)).toBe(true);
        // A stale `from` (the assignee changed meanwhile) writes nothing.
        expect(await store.cases.transition(reopened, { ...reopened, employee: 'e3' }, { at: later.toISOString(), operation: 'reassign', employee: 'e3', actor: 's2', seq: 5 }, later)).toBe(false);
        expect((await store.cases.get('k2'))?.employee).toBe('e2');
        expect(await store.cases.history(moved)).toEqual([
          { at: imported.openedAt, operation: 'open', employee: 'e1' },
          { at: imported.closedAt, operation: 'close', employee: 'e1' },
          { at: now.toISOString(), operation: 'reopen', employee: 'e1', actor: 's1', seq: 3 },
          { at: later.toISOString(), operation: 'reassign', employee: 'e2', actor: 's1', seq: 4 },
        ]);
      } finally {
        await store.close();
      }
    });

    it('lists cases by id in pages, by assignee, customer and whether open', async () => {
      const store = await openTestStore(target);
      try {
        const base = { customer: 'c1', openedAt: '2026-10-01T00:00:00.000Z', kind: 'refund' };
        await store.cases.upsertMany([
          { ...base, id: 'a', employee: 'e1' },
          { ...base, id: 'b', employee: 'e2', closedAt: '2026-10-02T00:00:00.000Z' },
          { ...base, id: 'c', employee: 'e1', customer: 'c2' },
          // Closes only in the future: open now.
          { ...base, id: 'd', employee: 'e1', closedAt: '2027-01-01T00:00:00.000Z' },
        ], now);
        const ids = async (f: Parameters<typeof store.cases.list>[0]) => (await store.cases.list(f, now)).map((c) => c.id);
        expect(await ids({ limit: 2 })).toEqual(['a', 'b']);
        expect(await ids({ limit: 2, after: 'b' })).toEqual(['c', 'd']);
        expect(await ids({ limit: 10, employee: 'e1' })).toEqual(['a', 'c', 'd']);
        expect(await ids({ limit: 10, customer: 'c2' })).toEqual(['c']);
        expect(await ids({ limit: 10, open: true })).toEqual(['a', 'c', 'd']);
        expect(await ids({ limit: 10, open: false })).toEqual(['b']);
        expect(await ids({ limit: 10, employee: 'e1', open: true, after: 'a' })).toEqual(['c', 'd']);
      } finally {
        await store.close();
      }
    });
  });
}
