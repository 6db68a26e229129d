import { afterAll, describe, expect, it, vi } from 'vitest';
import { storeTargets, openTestStore } from '../../test/support/stores.ts';
import { rmSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { LedgerAppender } from '../ledger/index.ts';
import { ConflictError, InvalidInputError } from '../errors.ts';
import type { SealedCustomer } from './customers.ts';
import { indexFileFor, ledgerFileFor, Store } from './store.ts';
import { canonicalEventBytes } from './test-events.ts';
import { untilLoadedDeadline } from '../../test/support/wait.ts';

const now = new Date('2026-11-01T10:00:00Z');

function customer(id: string, over: Partial<SealedCustomer> = {}): SealedCustomer {
  return {
    id,
    country: 'IT',
    region: null,
    locale: 'it-IT',
    canary: false,
    vip: false,
    fields: ['email', 'phone', 'name'],
    wrappedKey: Buffer.from(`wk-${id}`),
    kekId: 'kek-test',
    sealed: { email: Buffer.from([1, 2, 3]), phone: Buffer.from([4]), name: Buffer.from([5]) },
    masked: { email: 'a***@b***.example' },
    emailIndex: `ei-${id}`,
    phoneIndex: `pi-${id}`,
    ...over,
  };
}

for (const target of storeTargets()) {
  describe(`store on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('upserts customers by id and reads them back byte for byte', async () => {
      const store = await openTestStore(target);
      try {
        await store.customers.upsertMany([customer('c1'), customer('c2')], now);
        await store.customers.upsertMany([customer('c1', { country: 'FR', vip: true })], now);
        expect(await store.customers.count()).toBe(2);
        const c1 = await store.customers.get('c1');
        expect(c1?.country).toBe('FR');
        expect(c1?.vip).toBe(true);
        expect(Buffer.from(c1!.sealed.email!)).toEqual(Buffer.from([1, 2, 3]));
        expect(Buffer.from(c1!.wrappedKey).toString()).toBe('wk-c1');
        expect((await store.customers.findByEmailIndex('ei-c2')).map((c) => c.id)).toEqual(['c2']);
        expect(await store.customers.delete('c2')).toBe(true);
        expect(await store.customers.get('c2')).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('re-wraps keys only where they are unchanged', async () => {
      const store = await openTestStore(target);
      try {
        await store.customers.upsertMany([customer('a'), customer('b')], now);
        const page = await store.customers.wrappedKeysAfter('', 10);
        expect(page.map((p) => p.id)).toEqual(['a', 'b']);
        const n = await store.customers.replaceWrappedKeys([
          { id: 'a', from: page[0]!.wrappedKey, to: Buffer.from('new-a') },
          { id: 'b', from: Buffer.from('stale'), to: Buffer.from('new-b') },
        ]);
        expect(n).toBe(1);
        expect(Buffer.from((await store.customers.get('a'))!.wrappedKey).toString()).toBe('new-a');
        expect(Buffer.from((await store.customers.get('b'))!.wrappedKey).toString()).toBe('wk-b');
      } finally {
        await store.close();
      }
    });

    it('appends ledger batches atomically, refuses a wrong start, and indexes the events', async () => {
      const store = await openTestStore(target);
      try {
        const e0 = canonicalEventBytes({ id: 'ev0', time: '2026-11-01T10:00:00.000Z', actor: 'emp1', action: 'reveal', customers: ['c1'], fields: ['email'], decision: 'allow', purpose: { kind: 'case', ref: 'k1' } });
        const e1 = canonicalEventBytes({ id: 'ev1', time: '2026-11-01T11:00:00.000Z', actor: 'emp2', action: 'search', customers: ['c1', 'c2'], fields: [], decision: 'deny', reason: 'not_permitted' });
        await store.ledger.appendBatch(0, [e0, e1], [{ level: 0, index: 0, hash: Buffer.alloc(32, 1) }, { level: 0, index: 1, hash: Buffer.alloc(32, 2) }, { level: 1, index: 0, hash: Buffer.alloc(32, 3) }]);
        expect(await store.ledger.size()).toBe(2);
        await expect(store.ledger.appendBatch(1, [e0], [])).rejects.toBeInstanceOf(ConflictError);
        await expect(store.ledger.appendBatch(3, [e0], [])).rejects.toBeInstanceOf(ConflictError);
        expect(await store.ledger.size()).toBe(2);
        const nodes = await store.ledger.getNodes([{ level: 1, index: 0 }, { level: 0, index: 1 }]);
        expect(Buffer.from(nodes[0]!)).toEqual(Buffer.alloc(32, 3));
        expect(Buffer.from(nodes[1]!)).toEqual(Buffer.alloc(32, 2));
        await expect(store.ledger.getNodes([{ level: 5, index: 0 }])).rejects.toThrow(/missing/);
        const read = [];
        for await (const e of store.ledger.readEntries(0, 10)) read.push(e);
        expect(read.map((r) => r.index)).toEqual([0, 1]);
        expect(Buffer.from(read[1]!.entry)).toEqual(Buffer.from(e1));

        const byCustomer = await store.accessEvents.byCustomer('c1', { limit: 10 });
        expect(byCustomer.map((e) => e.id)).toEqual(['ev0', 'ev1']);
        expect(byCustomer[1]!.customers).toEqual(['c1', 'c2']);
        const byActor = await store.accessEvents.byActor('emp1', { limit: 10, from: '2026-11-01T00:00:00.000Z' });
        expect(byActor).toHaveLength(1);
        expect(byActor[0]).toMatchObject({ seq: 0, purpose: { kind: 'case', ref: 'k1' }, fields: ['email'] });
        expect(await store.accessEvents.byTime({ limit: 10, from: '2026-11-01T10:30:00.000Z' })).toHaveLength(1);
        expect(await store.accessEvents.countSince('emp1', 'reveal', 'allow', '2026-11-01T09:00:00.000Z')).toBe(1);
      } finally {
        await store.close();
      }
    });

    it('projects the event index after the ledger commits, and every read catches it up first', async () => {
      // A lag no test reaches: only reads (or close) project.
      const location = target.location();
      const store = await Store.open(location, { eventIndex: { maxLag: 1e9, maxDelayMs: 3_600_000 } });
      try {
        const events = Array.from({ length: 7 }, (_, i) =>
          canonicalEventBytes({ id: `ev${i}`, time: `2026-11-01T10:0${i}:00.000Z`, actor: `emp${i % 2}`, action: 'reveal', customers: [`c${i % 3}`], fields: ['email'], decision: 'allow' }),
        );
        await store.ledger.appendBatch(0, events.slice(0, 4), []);
        await store.ledger.appendBatch(4, events.slice(4), []);
        expect(await store.eventIndex.indexedThrough()).toBe(0);
        expect((await store.accessEvents.byTime({ limit: 100 })).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
        expect(await store.eventIndex.indexedThrough()).toBe(7);
        expect((await store.accessEvents.byCustomer('c1', { limit: 100 })).map((e) => e.id)).toEqual(['ev1', 'ev4']);
      } finally {
        await store.close();
      }
    });

    it('projects in the background once enough entries wait, and concurrent catch-ups index each event once', async () => {
      const location = target.location();
      const a = await Store.open(location, { eventIndex: { maxLag: 3, maxDelayMs: 3_600_000, chunk: 2 } });
      const b = await Store.open(location, { eventIndex: { chunk: 3 } });
      try {
        const events = Array.from({ length: 10 }, (_, i) =>
          canonicalEventBytes({ id: `ev${i}`, time: `2026-11-01T10:00:0${i}.000Z`, actor: 'emp1', action: 'view', customers: ['c1', 'c2'], fields: [], decision: 'allow' }),
        );
        // Its index worker up first: the wait below is for the background pass, not a thread start.
        await a.warmUp();
        await a.ledger.appendBatch(0, events.slice(0, 5), []);
        await vi.waitFor(async () => expect(await a.eventIndex.indexedThrough()).toBe(5), untilLoadedDeadline);
        await a.ledger.appendBatch(5, events.slice(5), []);
        // a has started projecting 5..9 in the background; b races it to the same entries (on
        // SQLite, from another worker thread). Each event must land exactly once.
        await Promise.all([a.eventIndex.catchUp(), b.eventIndex.catchUp(), a.eventIndex.catchUp()]);
        expect(await a.eventIndex.indexedThrough()).toBe(10);
        expect(await a.accessEvents.countSince('emp1', 'view', 'allow', '2026-11-01T00:00:00.000Z')).toBe(10);
        expect((await b.accessEvents.byCustomer('c2', { limit: 100 })).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('projects in the background when the sizes of many small batches reach it in one note', async () => {
      const store = await Store.open(target.location(), { eventIndex: { maxLag: 5, maxDelayMs: 3_600_000 } });
      try {
        await store.warmUp();
        // One entry per batch, back to back. On SQLite only the first size reaches the worker at
        // once (below maxLag, so no pass); the last must follow in a later note, or nothing is
        // ever projected.
        for (let i = 0; i < 5; i++) {
          const e = canonicalEventBytes({ id: `ev${i}`, time: '2026-11-01T10:00:00.000Z', actor: 'emp1', action: 'view', customers: ['c1'], fields: [], decision: 'allow' });
          await store.ledger.appendBatch(i, [e], []);
        }
        await vi.waitFor(async () => expect(await store.eventIndex.indexedThrough()).toBe(5), untilLoadedDeadline);
      } finally {
        await store.close();
      }
    });

    it('rebuilds the event index from the ledger', async () => {
      const location = target.location();
      let store = await Store.open(location);
      try {
        const e0 = canonicalEventBytes({ id: 'ev0', time: '2026-11-01T10:00:00.000Z', actor: 'emp1', action: 'reveal', customers: ['c1'], fields: ['email'], decision: 'allow' });
        await store.ledger.appendBatch(0, [e0, e0], []);
        expect(await store.accessEvents.countSince('emp1', 'reveal', 'allow', '2026-11-01T00:00:00.000Z')).toBe(2);
        await store.eventIndex.rebuild();
        expect(await store.eventIndex.indexedThrough()).toBe(2);
        expect(await store.accessEvents.countSince('emp1', 'reveal', 'allow', '2026-11-01T00:00:00.000Z')).toBe(2);
        if (location.dialect === 'sqlite') {
          // The index file holds nothing the ledger does not: losing it loses nothing.
          await store.close();
          rmSync(indexFileFor(location.file));
          store = await Store.open(location);
          expect(await store.eventIndex.indexedThrough()).toBe(0);
          expect((await store.accessEvents.byCustomer('c1', { limit: 10 })).map((e) => e.seq)).toEqual([0, 1]);
        }
      } finally {
        await store.close();
      }
    });

    if (target.name === 'sqlite') {
      it('starts the index worker while another connection holds the ledger\'s write lock, and appends through a busy store', async () => {
        const location = target.location();
        const store = await Store.open(location);
        // The ledger's own file (custos-ledger.db), where its batches take the write lock.
        const other = new BetterSqlite3(ledgerFileFor((location as { file: string }).file));
        other.pragma('busy_timeout = 5000');
        try {
          other.exec('CREATE TABLE scratch (x integer)');
          // The worker prepares its own file only; it never takes the ledger's lock.
          other.exec('BEGIN IMMEDIATE');
          expect(await store.eventIndex.indexedThrough()).toBe(0);
          other.exec('COMMIT');

          // Another process commits while a batch waits for the lock: the batch is retried, not failed.
          // The writer thread is started first so the batch reaches the lock while it is held; the
          // outcome is the same whichever comes first, only what is exercised differs.
          await store.warmUp();
          const appender = await LedgerAppender.open(store.ledger);
          other.exec('BEGIN IMMEDIATE');
          other.prepare('INSERT INTO scratch VALUES (1)').run();
          setTimeout(() => other.exec('COMMIT'), 100);
          const e0 = canonicalEventBytes({ id: 'ev0', time: '2026-11-01T10:00:00.000Z', actor: 'emp1', action: 'view', customers: ['c1'], fields: [], decision: 'allow' });
          expect(await appender.append(e0)).toEqual({ index: 0 });
          await appender.close();
          expect(await store.accessEvents.countSince('emp1', 'view', 'allow', '2026-11-01T00:00:00.000Z')).toBe(1);
        } finally {
          other.close();
          await store.close();
        }
      });
    }

    if (target.name === 'sqlite') {
      it('stores a checkpoint on the writer thread: the event loop runs on while another connection holds the ledger\'s write lock', async () => {
        const location = target.location();
        const store = await Store.open(location);
        const other = new BetterSqlite3(ledgerFileFor((location as { file: string }).file));
        try {
          await store.warmUp();
          other.exec('BEGIN IMMEDIATE');
          let settled = false;
          const saving = store.ledger.saveCheckpoint({ size: 3, note: 'three', signedAt: now.toISOString() }).finally(() => (settled = true));
          // On the request thread the insert would wait for the lock right here, holding the loop.
          await new Promise<void>((resolve) => setImmediate(resolve));
          expect(settled).toBe(false);
          other.exec('COMMIT');
          await saving;
          expect((await store.ledger.latestCheckpoint())?.note).toBe('three');
        } finally {
          other.close();
          await store.close();
        }
      });
    }

    it('rejects a query bound that is not a time, naming it', async () => {
      const store = await openTestStore(target);
      try {
        const err = await store.accessEvents.byActor('emp1', { limit: 1, from: 'yesterday' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidInputError);
        expect((err as InvalidInputError).details).toEqual({ field: 'from' });
      } finally {
        await store.close();
      }
    });

    it('keeps checkpoints by size', async () => {
      const store = await openTestStore(target);
      try {
        await store.ledger.saveCheckpoint({ size: 5, note: 'five', signedAt: now.toISOString() });
        await store.ledger.saveCheckpoint({ size: 2, note: 'two', signedAt: now.toISOString() });
        await store.ledger.saveCheckpoint({ size: 5, note: 'again', signedAt: now.toISOString() });
        expect((await store.ledger.latestCheckpoint())?.note).toBe('five');
        const all = [];
        for await (const c of store.ledger.listCheckpoints()) all.push(c.size);
        expect(all).toEqual([2, 5]);
      } finally {
        await store.close();
      }
    });
  });
}

