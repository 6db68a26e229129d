import { afterAll, describe, expect, it } from 'vitest';
import { openTestStore, storeTargets } from '../../test/support/stores.ts';
import { IntegrityError } from '../errors.ts';
import { canonicalEventBytes } from './test-events.ts';

const event = (i: number) =>
  canonicalEventBytes({ id: `ev${i}`, time: `2026-11-01T10:00:0${i}.000Z`, actor: 'emp1', action: 'view', customers: ['c1'], fields: [], decision: 'allow' });

for (const target of storeTargets()) {
  describe(`access-event projection on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    // On SQLite the projection runs in the index worker: the error crosses the thread as itself.
    it.each([
      ['an array actor', { ...JSON.parse(Buffer.from(event(2)).toString()), actor: ['emp1'] }, '"actor" is not a string'],
      ['no decision', { id: 'x', time: '2026-11-01T10:00:02.000Z', actor: 'emp1', action: 'view', customers: [], fields: [] }, '"decision" is not a string'],
      ['a list', [1, 2], 'not a JSON object'],
    ])('stops at an entry that is not an access event (%s) instead of skipping it, naming the entry', async (_what, bad, why) => {
      const store = await openTestStore(target);
      try {
        await store.ledger.appendBatch(0, [event(0), event(1), Buffer.from(JSON.stringify(bad)), event(3)], []);
        const err = await store.accessEvents.byTime({ limit: 10 }).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(IntegrityError);
        expect((err as Error).message).toMatch(/^access-event index: ledger entry 2 is not an access event: /);
        expect((err as Error).message).toContain(why);
        // Nothing of the failed chunk was indexed, and nothing after it: the index does not pretend.
        expect(await store.eventIndex.indexedThrough()).toBe(0);
        await expect(store.eventIndex.catchUp()).rejects.toThrow(/ledger entry 2/);
      } finally {
        await store.close();
      }
    });

    it('indexes every entry of a well-formed ledger, so indexedThrough reaches its size', async () => {
      const store = await openTestStore(target);
      try {
        await store.ledger.appendBatch(0, [0, 1, 2, 3].map(event), []);
        expect((await store.accessEvents.byTime({ limit: 10 })).map((e) => e.seq)).toEqual([0, 1, 2, 3]);
        expect(await store.eventIndex.indexedThrough()).toBe(await store.ledger.size());
      } finally {
        await store.close();
      }
    });
  });
}
