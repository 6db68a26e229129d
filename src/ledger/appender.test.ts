import { describe, expect, it, vi } from 'vitest';
import { UnavailableError } from '../errors.ts';
import { LedgerAppender } from './appender.ts';
import { MemoryLedgerStorage } from './memory-storage.ts';
import { leafHash, rootOf } from './merkle.ts';
import { rootAt } from './proofs.ts';
import { verifyLedger } from './verify.ts';
import type { StoredNode } from './storage.ts';
import { untilLoadedDeadline } from '../../test/support/wait.ts';

const entry = (n: number): Buffer => Buffer.from(`{"event":${n}}`);

/** A write the test controls: it has started once `started` resolves, and lands when the test calls `land`. */
interface HeldWrite {
  started: Promise<void>;
  land(): void;
}

/** A memory storage whose appendBatch can be made to fail, hang or land when the test says, and which records batch sizes. */
class ControlledStorage extends MemoryLedgerStorage {
  batchSizes: number[] = [];
  private nextWrites: ('fail' | { begin(): void; landed: Promise<void> | undefined })[] = [];

  failNext(): void {
    this.nextWrites.push('fail');
  }

  /** The next write starts and never lands. */
  hangNext(): { started: Promise<void> } {
    return this.hold(undefined);
  }

  /** The next write starts and lands when `land` is called, not before. */
  holdNext(): HeldWrite {
    let land!: () => void;
    const landed = new Promise<void>((resolve) => (land = resolve));
    return { ...this.hold(landed), land };
  }

  override async appendBatch(start: number, entries: Uint8Array[], nodes: StoredNode[]): Promise<void> {
    this.batchSizes.push(entries.length);
    const behaviour = this.nextWrites.shift();
    if (behaviour === 'fail') throw new Error('disk full');
    if (behaviour) {
      behaviour.begin();
      await (behaviour.landed ?? new Promise(() => {}));
    }
    return super.appendBatch(start, entries, nodes);
  }

  private hold(landed: Promise<void> | undefined): { started: Promise<void> } {
    let begin!: () => void;
    const started = new Promise<void>((resolve) => (begin = resolve));
    this.nextWrites.push({ begin, landed });
    return { started };
  }
}

/** One turn of the event loop (the appender takes a batch once per turn). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function storedLeaves(storage: MemoryLedgerStorage): Promise<Buffer[]> {
  const leaves: Buffer[] = [];
  for await (const e of storage.readEntries(0, await storage.size())) leaves.push(leafHash(e.entry));
  return leaves;
}

describe('LedgerAppender', () => {
  it('gives 5000 concurrent appends unique contiguous indexes, in batches of at most maxBatch', async () => {
    const storage = new ControlledStorage();
    const appender = await LedgerAppender.open(storage, { maxBatch: 300 });
    const results = await Promise.all(Array.from({ length: 5000 }, (_, n) => appender.append(entry(n))));
    const indexes = results.map((r) => r.index);
    expect(indexes).toEqual(Array.from({ length: 5000 }, (_, n) => n));
    expect(Math.max(...storage.batchSizes)).toBeLessThanOrEqual(300);
    expect(storage.batchSizes.reduce((a, b) => a + b, 0)).toBe(5000);
    // Batching happened: far fewer writes than entries.
    expect(storage.batchSizes.length).toBeLessThan(30);
    expect(await storage.size()).toBe(5000);
    const leaves = await storedLeaves(storage);
    expect(leaves[1234]).toEqual(leafHash(entry(1234)));
    expect(appender.root()).toEqual(rootOf(leaves));
    expect(await rootAt(storage, 5000)).toEqual(rootOf(leaves));
  });

  it('keeps each entry at the index its promise reports, under interleaved async callers', async () => {
    const storage = new MemoryLedgerStorage();
    const appender = await LedgerAppender.open(storage, { maxBatch: 7 });
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, n) => {
        for (let i = 0; i < n % 5; i++) await turn();
        return { n, ...(await appender.append(entry(n))) };
      }),
    );
    const stored = new Map<number, string>();
    for await (const e of storage.readEntries(0, 200)) stored.set(e.index, Buffer.from(e.entry).toString());
    for (const r of results) expect(stored.get(r.index)).toBe(entry(r.n).toString());
  });

  it('writes a lone append at once, and entries arriving during a write go into the next batch', async () => {
    const storage = new ControlledStorage();
    const appender = await LedgerAppender.open(storage);
    const write = storage.holdNext();
    const first = appender.append(entry(0));
    await write.started;
    expect(storage.batchSizes).toEqual([1]);
    const later = [appender.append(entry(1)), appender.append(entry(2))];
    write.land();
    expect(await first).toEqual({ index: 0 });
    expect(await Promise.all(later)).toEqual([{ index: 1 }, { index: 2 }]);
    expect(storage.batchSizes).toEqual([1, 2]);
  });

  it('rejects every entry of a failed batch with UnavailableError, stores none of it, and recovers', async () => {
    const storage = new ControlledStorage();
    const appender = await LedgerAppender.open(storage, { maxBatch: 10 });
    await appender.append(entry(0));
    storage.failNext();
    const failed = await Promise.allSettled(Array.from({ length: 10 }, (_, n) => appender.append(entry(100 + n))));
    expect(failed.every((r) => r.status === 'rejected' && r.reason instanceof UnavailableError)).toBe(true);
    expect(((failed[0] as PromiseRejectedResult).reason as Error).cause).toBeInstanceOf(Error);
    expect(await storage.size()).toBe(1);
    expect(appender.size).toBe(1);
    expect(await appender.append(entry(1))).toEqual({ index: 1 });
    expect(appender.root()).toEqual(rootOf([leafHash(entry(0)), leafHash(entry(1))]));
    expect(await rootAt(storage, 2)).toEqual(appender.root());
  });

  it('fails a batch that does not become durable within timeoutMs, then carries on', async () => {
    // The appender's clock is its timers: fake them, so 40 ms means 40 ms however loaded the machine.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
    try {
      const storage = new ControlledStorage();
      const appender = await LedgerAppender.open(storage, { timeoutMs: 40 });
      const write = storage.hangNext();
      let outcome: unknown;
      const append = appender.append(entry(0)).then(
        () => (outcome = 'durable'),
        (err: unknown) => (outcome = err),
      );
      await vi.advanceTimersByTimeAsync(1);
      await write.started;
      await vi.advanceTimersByTimeAsync(38);
      expect(outcome).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await append;
      expect(outcome).toBeInstanceOf(UnavailableError);
      expect((outcome as Error).message).toMatch(/did not answer within 40 ms/);
      // The next append first gives the hung write its time to land (it does not), then re-reads the tree.
      const next = appender.append(entry(1));
      await vi.advanceTimersByTimeAsync(41);
      expect(await next).toEqual({ index: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('after a timed-out write that lands late, re-syncs from storage instead of forking the log', async () => {
    const storage = new ControlledStorage();
    const appender = await LedgerAppender.open(storage, { timeoutMs: 30 });
    const late = storage.holdNext();
    await expect(appender.append(entry(0))).rejects.toBeInstanceOf(UnavailableError);
    // The late write lands while the appender waits to re-sync; the next entry goes after it.
    const next = appender.append(entry(1));
    // Queued behind the turn on which the appender takes the batch and starts waiting for the
    // late write, and ahead of any timer, so it lands within that wait.
    setImmediate(() => late.land());
    expect(await next).toEqual({ index: 1 });
    const leaves = await storedLeaves(storage);
    expect(leaves).toEqual([leafHash(entry(0)), leafHash(entry(1))]);
    expect(await rootAt(storage, 2)).toEqual(rootOf(leaves));
  });

  it('spaces batches minBatchIntervalMs apart under steady load, and writes a lone append after a quiet spell at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    try {
      const storage = new ControlledStorage();
      const appender = await LedgerAppender.open(storage, { minBatchIntervalMs: 5 });
      const first = appender.append(entry(0));
      await vi.advanceTimersByTimeAsync(0);
      expect(await first).toEqual({ index: 0 });
      // Arriving 1 ms later, these wait for the interval and go as one batch.
      await vi.advanceTimersByTimeAsync(1);
      const later = [appender.append(entry(1)), appender.append(entry(2))];
      await vi.advanceTimersByTimeAsync(3);
      expect(storage.batchSizes).toEqual([1]);
      const third = appender.append(entry(3));
      await vi.advanceTimersByTimeAsync(1);
      expect(await Promise.all([...later, third])).toEqual([{ index: 1 }, { index: 2 }, { index: 3 }]);
      expect(storage.batchSizes).toEqual([1, 3]);
      // After a quiet spell longer than the interval, no wait.
      await vi.advanceTimersByTimeAsync(50);
      const lone = appender.append(entry(4));
      await vi.advanceTimersByTimeAsync(0);
      expect(await lone).toEqual({ index: 4 });
      expect(storage.batchSizes).toEqual([1, 3, 1]);
    } finally {
      vi.useRealTimers();
    }
    await expect(LedgerAppender.open(new MemoryLedgerStorage(), { minBatchIntervalMs: -1 })).rejects.toThrow(/minBatchIntervalMs/);
  });

  it('appendMany writes its entries atomically at consecutive indexes, even beyond maxBatch', async () => {
    const storage = new ControlledStorage();
    const appender = await LedgerAppender.open(storage, { maxBatch: 4 });
    const [one, many] = await Promise.all([appender.append(entry(0)), appender.appendMany([1, 2, 3, 4, 5, 6].map(entry))]);
    expect(one).toEqual({ index: 0 });
    expect(many).toEqual({ start: 1, count: 6 });
    expect(storage.batchSizes).toEqual([1, 6]);
    expect(await appender.appendMany([])).toEqual({ start: 7, count: 0 });
  });

  it('continues an existing log where it ends', async () => {
    const storage = new MemoryLedgerStorage();
    const first = await LedgerAppender.open(storage);
    await first.appendMany([0, 1, 2, 3, 4].map(entry));
    await first.close();
    const second = await LedgerAppender.open(storage);
    expect(second.size).toBe(5);
    expect(await second.append(entry(5))).toEqual({ index: 5 });
    expect(second.root()).toEqual(rootOf([0, 1, 2, 3, 4, 5].map((n) => leafHash(entry(n)))));
  });

  it('calls onCommitted after durability with the batch start and entries; hook errors go to onHookError', async () => {
    const storage = new MemoryLedgerStorage();
    const seen: [number, number, number][] = [];
    const hookErrors: unknown[] = [];
    const appender = await LedgerAppender.open(storage, {
      onCommitted: async (start, entries) => {
        seen.push([start, entries.length, await storage.size()]);
        if (start === 3) throw new Error('publish failed');
      },
      onHookError: (err) => hookErrors.push(err),
    });
    await appender.appendMany([0, 1, 2].map(entry));
    await appender.append(entry(3));
    await vi.waitFor(() => expect(hookErrors).toHaveLength(1), untilLoadedDeadline);
    expect(seen).toEqual([
      [0, 3, 3],
      [3, 1, 4],
    ]);
  });

  it('hands each entry\'s note to onCommitted beside it, across the appends a batch groups', async () => {
    const committed: Array<[number, unknown]> = [];
    const appender = await LedgerAppender.open(new MemoryLedgerStorage(), {
      onCommitted: (start, entries, notes) => {
        expect(notes).toHaveLength(entries.length);
        notes.forEach((n, i) => committed.push([start + i, n]));
      },
    });
    await appender.appendMany([entry(0), entry(1)]);
    // Queued together, written as one batch.
    await Promise.all([appender.append(entry(2), 'two'), appender.append(entry(3)), appender.append(entry(4), { four: 4 })]);
    expect(committed).toEqual([
      [0, undefined],
      [1, undefined],
      [2, 'two'],
      [3, undefined],
      [4, { four: 4 }],
    ]);
  });

  it('calls onCommitted synchronously, batch after batch in ledger order, and never waits for what it returns', async () => {
    const starts: number[] = [];
    const appender = await LedgerAppender.open(new MemoryLedgerStorage(), {
      maxBatch: 3,
      onCommitted: (start) => {
        starts.push(start);
        return new Promise(() => {}); // a hook still busy forever
      },
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => appender.append(entry(n))));
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(starts).toEqual([0, 3, 6, 9]);
  });

  it('close() writes what is queued and refuses later appends', async () => {
    const storage = new MemoryLedgerStorage();
    const appender = await LedgerAppender.open(storage);
    const pending = appender.append(entry(0));
    await appender.close();
    expect(await pending).toEqual({ index: 0 });
    await expect(appender.append(entry(1))).rejects.toBeInstanceOf(UnavailableError);
  });

  it('rejects non-byte entries and bad options', async () => {
    const appender = await LedgerAppender.open(new MemoryLedgerStorage());
    await expect(appender.append('text' as unknown as Uint8Array)).rejects.toThrow(/bytes/);
    await expect(LedgerAppender.open(new MemoryLedgerStorage(), { maxBatch: 0 })).rejects.toThrow(/maxBatch/);
  });
});

describe('LedgerAppender beside another writer', () => {
  it('re-reads the tree and appends after entries another process wrote', async () => {
    const storage = new MemoryLedgerStorage();
    const server = await LedgerAppender.open(storage);
    const cli = await LedgerAppender.open(storage);
    expect((await server.append(Buffer.from('a'))).index).toBe(0);
    // The CLI's appender opened when the log was empty; the store refuses its first try.
    expect((await cli.append(Buffer.from('b'))).index).toBe(1);
    expect((await server.append(Buffer.from('c'))).index).toBe(2);
    expect(await storage.size()).toBe(3);
    expect((await verifyLedger(storage, [])).ok).toBe(true);
  });
});

describe('LedgerAppenders taking turns on one log', () => {
  it('never fails an append for contention alone: each conflict re-reads the tree and tries again', async () => {
    // Like a database: the size is checked a round trip after the batch was prepared, so another
    // writer can land in between, again and again.
    class RoundTripStorage extends MemoryLedgerStorage {
      override async appendBatch(start: number, entries: Uint8Array[], nodes: StoredNode[]): Promise<void> {
        await new Promise((resolve) => setImmediate(resolve));
        return super.appendBatch(start, entries, nodes);
      }
    }
    const storage = new RoundTripStorage();
    const writers = await Promise.all([0, 1, 2].map(() => LedgerAppender.open(storage, { maxBatch: 50 })));
    const results = await Promise.all(
      Array.from({ length: 1500 }, (_, n) => writers[n % 3]!.append(entry(n)).then((r) => ({ n, index: r.index }))),
    );
    expect(await storage.size()).toBe(1500);
    expect(new Set(results.map((r) => r.index)).size).toBe(1500);
    const stored = new Map<number, string>();
    for await (const e of storage.readEntries(0, 1500)) stored.set(e.index, Buffer.from(e.entry).toString());
    for (const r of results) expect(stored.get(r.index)).toBe(entry(r.n).toString());
    expect((await verifyLedger(storage, [])).ok).toBe(true);
  });
});
