import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storeTargets } from '../../test/support/stores.ts';
import type { Store } from './store.ts';
import type { QueuedNotice } from './notice-outbox.ts';

const notice = (incident: string, customer: string): QueuedNotice => ({
  incident, customer, messageId: `<${incident}.${customer}@n.example>`, locale: 'en', entity: 'eu', content: new Uint8Array([1, 2, 3]),
});

for (const target of storeTargets()) {
  describe(`notice outbox on ${target.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await openTestStore(target);
    });
    afterAll(async () => {
      await store.close();
      await target.cleanup();
    });

    it('queues each (incident, customer) once, however often it is filled', async () => {
      const outbox = store.noticeOutbox;
      expect(await outbox.enqueue([notice('I1', 'a'), notice('I1', 'b')], 1000)).toBe(2);
      expect(await outbox.enqueue([notice('I1', 'b'), notice('I1', 'c'), notice('I2', 'a')], 2000)).toBe(2);
      const counts = await outbox.counts('I1');
      expect(counts.queued).toEqual({ total: 3, pending: 3 });
      expect(counts.nextDueMs).toBe(1000);
      const row = await outbox.get('I1', 'a');
      expect(row).toMatchObject({ state: 'queued', attempts: 0, messageId: '<I1.a@n.example>', dueMs: 1000, lastError: null, sentAt: null });
      expect([...row!.content]).toEqual([1, 2, 3]);
      expect((await outbox.list('I1', { limit: 2 })).map((e) => e.customer)).toEqual(['a', 'b']);
      expect((await outbox.list('I1', { after: 'b', limit: 2 })).map((e) => e.customer)).toEqual(['c']);
    });

    it('lets one sender take a due row at a time, and another take it back only once the lease has ended', async () => {
      const outbox = store.noticeOutbox;
      const first = await outbox.claim('I1', 'one', 2, 5000, 10_000);
      expect(first.map((r) => r.customer)).toEqual(['a', 'b']);
      expect(first[0]).toMatchObject({ messageId: '<I1.a@n.example>', attempts: 1 });
      const second = await outbox.claim('I1', 'two', 5, 5000, 60_000);
      expect(second.map((r) => r.customer)).toEqual(['c']);
      expect(await outbox.claim('I1', 'two', 5, 14_999, 10_000)).toEqual([]);
      // Past its lease, a row is still not taken again by the sender that holds it.
      expect(await outbox.claim('I1', 'one', 5, 15_000, 10_000)).toEqual([]);
      // `one` died holding a and b: after its lease, `two` takes them, with the same Message-IDs.
      const retaken = await outbox.claim('I1', 'two', 5, 15_000, 10_000);
      expect(retaken.map((r) => [r.customer, r.messageId, r.attempts])).toEqual([['a', '<I1.a@n.example>', 2], ['b', '<I1.b@n.example>', 2]]);
      // The late `one` can no longer mark them: they are not its own any more.
      expect(await outbox.markSent('I1', ['a'], 'one', 15_001)).toBe(0);
      expect(await outbox.markFailed('I1', 'b', 'one', 'failed', '421: busy', 20_000, 15_001)).toBe(false);
      expect(await outbox.markSent('I1', ['a', 'c'], 'two', 15_002)).toBe(2);
      expect(await outbox.get('I1', 'a')).toMatchObject({ state: 'sent', dueMs: null, sentAt: new Date(15_002).toISOString() });
    });

    it('finds rows by Message-ID, and turns a sent notice into a bounce when a report comes back, once', async () => {
      const outbox = store.noticeOutbox;
      await outbox.enqueue([notice('B1', 'x'), notice('B1', 'y')], 1000);
      const [x] = await outbox.claim('B1', 'one', 1, 1000, 10_000);
      await outbox.markSent('B1', [x!.customer], 'one', 1001);
      const found = await outbox.byMessageIds(['<B1.x@n.example>', '<B1.y@n.example>', '<nobody@n.example>']);
      expect(found.map((e) => [e.incident, e.customer, e.state]).sort()).toEqual([['B1', 'x', 'sent'], ['B1', 'y', 'queued']]);
      expect(await outbox.markBounced('B1', 'x', 'dsn 5.1.1: unknown user', 2000)).toBe(true);
      expect(await outbox.get('B1', 'x')).toMatchObject({ state: 'bounced', dueMs: null, lastError: 'dsn 5.1.1: unknown user', sentAt: new Date(1001).toISOString() });
      // Once only; and a notice never sent is not a bounce.
      expect(await outbox.markBounced('B1', 'x', 'again', 3000)).toBe(false);
      expect(await outbox.markBounced('B1', 'y', 'dsn', 3000)).toBe(false);
      expect(await outbox.get('B1', 'y')).toMatchObject({ state: 'queued' });
    });

    it('keeps failures and bounces with their error, due again at the retry time or never', async () => {
      const outbox = store.noticeOutbox;
      expect(await outbox.markFailed('I1', 'b', 'two', 'bounced', '550: no such user', 40_000, 16_000)).toBe(true);
      expect(await outbox.get('I1', 'b')).toMatchObject({ state: 'bounced', lastError: '550: no such user', dueMs: 40_000, attempts: 2 });
      // The failures alone, a page at a time (what the notices status shows).
      expect((await outbox.list('I1', { limit: 10, states: ['failed', 'bounced'] })).map((e) => [e.customer, e.state])).toEqual([['b', 'bounced']]);
      expect(await outbox.list('I1', { after: 'b', limit: 10, states: ['failed', 'bounced'] })).toEqual([]);
      expect((await outbox.list('I1', { limit: 10, states: ['sent'] })).map((e) => e.customer)).toEqual(['a', 'c']);
      expect(await outbox.claim('I1', 'two', 5, 39_999, 1000)).toEqual([]);
      const again = await outbox.claim('I1', 'two', 5, 40_000, 1000);
      expect(again.map((r) => [r.customer, r.attempts])).toEqual([['b', 3]]);
      // Given back untried (the sender may not open the address): due now, the attempt not counted.
      expect(await outbox.release('I1', 'b', 'one', 40_000)).toBe(false);
      expect(await outbox.release('I1', 'b', 'two', 40_000)).toBe(true);
      expect(await outbox.get('I1', 'b')).toMatchObject({ state: 'failed', attempts: 2, dueMs: 40_000, lastError: '550: no such user' });
      expect((await outbox.claim('I1', 'two', 5, 40_000, 1000)).map((r) => [r.customer, r.attempts])).toEqual([['b', 3]]);
      expect(await outbox.markFailed('I1', 'b', 'two', 'failed', '451: try later', null, 40_001)).toBe(true);
      const counts = await outbox.counts('I1');
      expect(counts.sent).toEqual({ total: 2, pending: 0 });
      expect(counts.failed).toEqual({ total: 1, pending: 0 });
      expect(counts.nextDueMs).toBeNull();
      expect(await outbox.claim('I1', 'two', 5, 1e13, 1000)).toEqual([]);
    });

    it('never hands one row to two concurrent claims', async () => {
      const outbox = store.noticeOutbox;
      await outbox.enqueue(Array.from({ length: 60 }, (_, i) => notice('I3', `c${String(i).padStart(2, '0')}`)), 0);
      const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => outbox.claim('I3', `s${i}`, 15, 1, 1000)));
      const taken = claims.flat().map((r) => r.customer);
      expect(taken).toHaveLength(60);
      expect(new Set(taken).size).toBe(60);
    });
  });
}
