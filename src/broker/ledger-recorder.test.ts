import { describe, expect, it } from 'vitest';
import { LedgerAppender, MemoryLedgerStorage } from '../ledger/index.ts';
import type { AccessEvent, RecordedEvent } from '../model.ts';
import { ledgerEventSource } from '../stream/ledger-source.ts';
import { InProcessStream } from '../stream/stream.ts';
import { eventEntryBytes, LedgerRecorder, publishCommitted } from './ledger-recorder.ts';

const event = (n: number): AccessEvent => ({
  id: `ev${n}`,
  time: '2026-11-01T10:00:00.000Z',
  actor: `emp${n % 3}`,
  action: 'reveal',
  customers: ['cus-1'],
  fields: ['email'],
  decision: 'allow',
  purpose: { kind: 'case', ref: `case-${n}` },
});

describe('publishCommitted', () => {
  it('publishes batches committed back to back in ledger order, to a slow async subscriber and the one after it', async () => {
    const storage = new MemoryLedgerStorage();
    const stream = new InProcessStream({ source: ledgerEventSource(storage), head: 0 });
    const recorder = new LedgerRecorder(await LedgerAppender.open(storage, { maxBatch: 50, onCommitted: publishCommitted(stream) }));
    const slow: RecordedEvent[] = [];
    const after: number[] = [];
    let calls = 0;
    stream.subscribe(async (events) => {
      // Earlier batches take longer than later ones: a stream that ran handlers concurrently would reorder.
      const turns = 5 - (calls++ % 5);
      for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
      slow.push(...events);
    });
    stream.subscribe((events) => void after.push(...events.map((e) => e.seq)));
    const recorded = await Promise.all(Array.from({ length: 1_000 }, (_, n) => recorder.record(event(n))));
    await stream.settled();
    expect(calls).toBeGreaterThan(1);
    expect(slow.map((e) => e.seq)).toEqual(recorded.map((r) => r.seq));
    expect(after).toEqual(recorded.map((r) => r.seq));
    // The events as recorded, at the index the ledger gave them.
    expect(slow[7]).toEqual(recorded[7]);
    expect(slow[7]).toMatchObject({ seq: 7, id: 'ev7', purpose: { kind: 'case', ref: 'case-7' } });
  });

  it('publishes entries other writers appended beside it decoded from their bytes, skipping entries that are not events', async () => {
    const storage = new MemoryLedgerStorage();
    const stream = new InProcessStream({ source: ledgerEventSource(storage), head: 0 });
    const appender = await LedgerAppender.open(storage, { onCommitted: publishCommitted(stream) });
    const seen: RecordedEvent[] = [];
    stream.subscribe((events) => void seen.push(...events));
    await appender.appendMany([eventEntryBytes(event(0)), Buffer.from('not an event'), eventEntryBytes(event(2))]);
    await stream.settled();
    expect(seen).toEqual([
      { ...event(0), seq: 0 },
      { ...event(2), seq: 2 },
    ]);
  });
});
