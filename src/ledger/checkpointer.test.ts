import { describe, expect, it, vi } from 'vitest';
import { untilLoadedDeadline } from '../../test/support/wait.ts';
import { LedgerAppender } from './appender.ts';
import { openLedgerCheckpoint } from './checkpoint.ts';
import { LedgerCheckpointer } from './checkpointer.ts';
import { MemoryLedgerStorage } from './memory-storage.ts';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from './note.ts';
import { rootAt } from './proofs.ts';
import type { StoredCheckpoint } from './storage.ts';

const key = generateNoteKey('custos/test');
const signer = parseSignerKey(key.signerKey);
const verifiers = [parseVerifierKey(key.verifierKey)];
const entry = (n: number): Buffer => Buffer.from(`entry ${n}`);

function fakeClock(start = Date.parse('2025-03-01T12:00:00Z')): { now: () => Date; advance: (ms: number) => void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => (t += ms) };
}

async function allCheckpoints(storage: MemoryLedgerStorage): Promise<StoredCheckpoint[]> {
  const list: StoredCheckpoint[] = [];
  for await (const c of storage.listCheckpoints()) list.push(c);
  return list;
}

describe('LedgerCheckpointer', () => {
  it('signs once every N entries when wired to the appender, with roots of the stored tree', async () => {
    const storage = new MemoryLedgerStorage();
    const clock = fakeClock();
    const checkpointer = await LedgerCheckpointer.open(storage, signer, { every: 10, intervalMs: 60_000, now: clock.now });
    const appender = await LedgerAppender.open(storage, { onCommitted: (start, entries) => void checkpointer.noteAppended(start + entries.length) });
    for (let n = 0; n < 25; n++) await appender.append(entry(n));
    await checkpointer.checkpoint(); // lets queued signings finish; also signs the tail (25)
    const sizes = (await allCheckpoints(storage)).map((c) => c.size);
    expect(sizes).toEqual([10, 20, 25]);
    for (const stored of await allCheckpoints(storage)) {
      const cp = openLedgerCheckpoint(stored.note, verifiers);
      expect(cp.origin).toBe('custos/test');
      expect(cp.size).toBe(stored.size);
      expect(cp.root).toEqual(await rootAt(storage, stored.size));
      expect(stored.signedAt).toBe('2025-03-01T12:00:00.000Z');
    }
  });

  it('signs every T only when the tree grew, by the clock it is given', async () => {
    const storage = new MemoryLedgerStorage();
    const clock = fakeClock();
    const appender = await LedgerAppender.open(storage);
    await appender.appendMany([0, 1, 2].map(entry));
    const checkpointer = await LedgerCheckpointer.open(storage, signer, { every: 1000, intervalMs: 10_000, now: clock.now });
    // No checkpoint yet: the first tick signs.
    expect((await checkpointer.tick())?.size).toBe(3);
    await appender.appendMany([3, 4].map(entry));
    clock.advance(5_000);
    expect(await checkpointer.tick()).toBeUndefined();
    clock.advance(5_000);
    expect((await checkpointer.tick())?.size).toBe(5);
    clock.advance(30_000);
    expect(await checkpointer.tick()).toBeUndefined(); // interval passed, but nothing new
    expect(checkpointer.latest()?.size).toBe(5);
    expect(checkpointer.latest()?.signedAt).toBe('2025-03-01T12:00:10.000Z');
  });

  it('signs on close if the tree grew, and not otherwise', async () => {
    const storage = new MemoryLedgerStorage();
    const checkpointer = await LedgerCheckpointer.open(storage, signer, { every: 1000, intervalMs: 60_000, now: fakeClock().now });
    expect(await checkpointer.close()).toBeUndefined();
    const appender = await LedgerAppender.open(storage);
    await appender.append(entry(0));
    const reopened = await LedgerCheckpointer.open(storage, signer, { every: 1000, intervalMs: 60_000, now: fakeClock().now });
    expect((await reopened.close())?.size).toBe(1);
    expect((await storage.latestCheckpoint())?.size).toBe(1);
  });

  it('picks up the latest stored checkpoint on open and measures N and T from it', async () => {
    const storage = new MemoryLedgerStorage();
    const clock = fakeClock();
    const appender = await LedgerAppender.open(storage);
    await appender.appendMany([0, 1, 2, 3].map(entry));
    const first = await LedgerCheckpointer.open(storage, signer, { every: 5, intervalMs: 10_000, now: clock.now });
    await first.checkpoint();
    const second = await LedgerCheckpointer.open(storage, signer, { every: 5, intervalMs: 10_000, now: clock.now });
    expect(second.latest()?.size).toBe(4);
    await appender.appendMany([4, 5].map(entry));
    expect(await second.noteAppended(6)).toBeUndefined(); // only 2 since the last
    expect(await second.tick()).toBeUndefined(); // and no time has passed
    await appender.appendMany([6, 7, 8].map(entry));
    expect((await second.noteAppended(9))?.size).toBe(9);
  });

  it('runs tick on a timer after start(), by the clock it is given, reporting failures to onError and going on', async () => {
    class FailingOnceStorage extends MemoryLedgerStorage {
      failures = 1;
      override async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
        if (this.failures-- > 0) throw new Error('disk full');
        return super.saveCheckpoint(checkpoint);
      }
    }
    const storage = new FailingOnceStorage();
    const appender = await LedgerAppender.open(storage);
    await appender.append(entry(0));
    const clock = fakeClock();
    const checkpointer = await LedgerCheckpointer.open(storage, signer, { every: 1000, intervalMs: 100, now: clock.now });
    const errors: unknown[] = [];
    checkpointer.start((err) => errors.push(err));
    // No checkpoint yet, so the first tick signs; its save fails, and a later tick signs again.
    await vi.waitFor(() => expect(checkpointer.latest()?.size).toBe(1), untilLoadedDeadline);
    expect(errors.map((e) => (e as Error).message)).toEqual(['disk full']);
    await appender.append(entry(1));
    // The tree grew, but the clock stands still: the next checkpoint comes once it moves on by the interval.
    clock.advance(99);
    expect(await checkpointer.tick()).toBeUndefined();
    clock.advance(1);
    await vi.waitFor(() => expect(checkpointer.latest()?.size).toBe(2), untilLoadedDeadline);
    expect(checkpointer.latest()?.signedAt).toBe('2025-03-01T12:00:00.100Z');
    await checkpointer.close();
    expect(errors).toHaveLength(1);
  });
});
