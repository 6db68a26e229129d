import { describe, expect, it } from 'vitest';
import { InvalidInputError, UnavailableError } from '../errors.ts';
import { canonicalJson, LedgerAppender, MemoryLedgerStorage, type LedgerStorage } from '../ledger/index.ts';
import type { AccessEvent, RecordedEvent } from '../model.ts';
import { ledgerEventSource, type EventSource } from './ledger-source.ts';
import { InProcessStream, type InProcessStreamOptions } from './stream.ts';

const event = (n: number): AccessEvent => ({
  id: `ev${n}`,
  time: '2026-11-01T10:00:00.000Z',
  actor: `emp${n % 7}`,
  action: 'view',
  customers: [`cus${n % 13}`],
  fields: [],
  decision: 'allow',
});

/** A real appender over in-memory ledger storage, publishing each durable batch as the app wires it. */
async function ledgerWithStream(options: Partial<InProcessStreamOptions> = {}, storage: LedgerStorage = new MemoryLedgerStorage()) {
  const stream: InProcessStream = new InProcessStream({ source: ledgerEventSource(storage), head: await storage.size(), ...options });
  const appender = await LedgerAppender.open(storage, {
    onCommitted: (start, entries, notes) =>
      stream.publish({ from: start, to: start + entries.length, events: notes.map((e, i) => ({ ...(e as AccessEvent), seq: start + i })) }),
  });
  /** Appends events [from, to) as concurrent callers would (group commit forms the batches). */
  const record = (from: number, to: number) =>
    Promise.all(
      Array.from({ length: to - from }, (_, i) => {
        const e = event(from + i);
        return appender.append(Buffer.from(JSON.stringify(e)), e);
      }),
    );
  return { storage, stream, appender, record };
}

/** Checks order as events arrive (a 100k-element toEqual would dwarf what is measured). */
function orderedCollector(first = 0) {
  const state = { next: first, count: 0, faults: [] as string[] };
  const take = (events: readonly RecordedEvent[]) => {
    for (const e of events) {
      if (e.seq !== state.next || e.id !== `ev${e.seq}`) state.faults.push(`expected ${state.next}, got ${e.seq} (${e.id})`);
      state.next = e.seq + 1;
      state.count++;
    }
  };
  return { state, take };
}

function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('InProcessStream', () => {
  it('hands a fast and a slow async subscriber all of a 100,000-event run, each in ledger order, exactly once', async () => {
    const { stream, record, appender } = await ledgerWithStream();
    const fast = orderedCollector();
    const slow = orderedCollector();
    let slowCalls = 0;
    stream.subscribe({ name: 'fast' }, fast.take);
    stream.subscribe({ name: 'slow' }, async (events) => {
      slowCalls++;
      // Slower than the appender: several event-loop turns per batch.
      for (let i = 0; i < 3; i++) await turn();
      slow.take(events);
    });
    const total = 100_000;
    // Waves of concurrent appends, each started while the one before is still being written:
    // batches commit back to back.
    let inFlight: Promise<unknown> = Promise.resolve();
    for (let from = 0; from < total; from += 5_000) {
      const wave = record(from, from + 5_000);
      await inFlight;
      inFlight = wave;
    }
    await inFlight;
    expect(appender.size).toBe(total);
    await stream.settled();
    for (const seen of [fast.state, slow.state]) {
      expect(seen.faults).toEqual([]);
      expect(seen.count).toBe(total);
      expect(seen.next).toBe(total);
    }
    expect(slowCalls).toBeGreaterThan(1);
    // About 3 s on a quiet 2-core machine; the deadline is for a loaded one.
  }, 120_000);

  it('on overflow drops the slow subscriber\'s queue and has it catch up from the ledger, losing and repeating nothing; appends never wait for it', async () => {
    const catchUps: Array<[string, number]> = [];
    const { stream, record } = await ledgerWithStream({ maxQueuedEvents: 100, onCatchUp: (name, from) => catchUps.push([name, from]) });
    const blocked = gate();
    const slow = orderedCollector();
    const fast = orderedCollector();
    const slowSub = stream.subscribe({ name: 'stuck' }, async (events) => {
      await blocked.opened;
      slow.take(events);
    });
    stream.subscribe({ name: 'quick' }, fast.take);
    await record(0, 10);
    // The stuck subscriber holds batch [0, 10); these appends resolve regardless.
    for (let from = 10; from < 5_010; from += 250) await record(from, from + 250);
    expect(slowSub.position).toBe(0);
    expect(slowSub.catchUps).toBe(1);
    expect(catchUps).toEqual([['stuck', 10]]);
    blocked.open();
    // More batches while it catches up: the seam back to live delivery.
    const during = record(5_010, 6_000);
    await during;
    await stream.settled();
    expect(slow.state.faults).toEqual([]);
    expect(slow.state.count).toBe(6_000);
    expect(fast.state.faults).toEqual([]);
    expect(fast.state.count).toBe(6_000);
    expect(slowSub.position).toBe(6_000);
  });

  it('replays a late subscriber from a ledger index, then goes on live with no gap or duplicate at the seam', async () => {
    const { stream, record } = await ledgerWithStream();
    await record(0, 3_000);
    const late = orderedCollector(1_234);
    const sub = stream.subscribe({ from: 1_234, name: 'late' }, async (events) => {
      await turn();
      late.take(events);
    });
    // Appends race the replay.
    await Promise.all([record(3_000, 3_500), turn().then(() => record(3_500, 4_000))]);
    await stream.settled();
    expect(late.state.faults).toEqual([]);
    expect(late.state.count).toBe(4_000 - 1_234);
    expect(sub.position).toBe(4_000);
    // A subscriber without `from` starts at the head: only what is published afterwards.
    const fresh = orderedCollector(4_000);
    stream.subscribe(fresh.take);
    await record(4_000, 4_010);
    await stream.settled();
    expect(fresh.state).toEqual({ next: 4_010, count: 10, faults: [] });
  });

  it('reports a throwing subscriber by name and keeps delivering to it and to others', async () => {
    const errors: Array<[string, string]> = [];
    const { stream, record } = await ledgerWithStream({ onSubscriberError: (err, name) => errors.push([name, (err as Error).message]) });
    const healthy = orderedCollector();
    const thrownAt: number[] = [];
    const failing = stream.subscribe({ name: 'detector' }, async (events) => {
      thrownAt.push(events[0]!.seq);
      throw new Error('detector down');
    });
    stream.subscribe(healthy.take);
    await record(0, 5);
    await record(5, 8);
    await stream.settled();
    expect(healthy.state).toEqual({ next: 8, count: 8, faults: [] });
    expect(thrownAt).toEqual([0, 5]);
    expect(errors).toEqual([
      ['detector', 'detector down'],
      ['detector', 'detector down'],
    ]);
    expect(failing.position).toBe(8);
  });

  it('reads entries another writer appended from the ledger, in their place', async () => {
    const storage = new MemoryLedgerStorage();
    const { stream, record } = await ledgerWithStream({}, storage);
    const seen: number[] = [];
    stream.subscribe((events) => void seen.push(...events.map((e) => e.seq)));
    await record(0, 3);
    // Another process (the CLI) appends events at 3 and 4 and a non-event entry at 5; this process
    // never publishes them, and its appender re-reads the tree before writing at 6.
    const other = await LedgerAppender.open(storage);
    await other.appendMany([canonicalJson(event(3)), canonicalJson(event(4)), Buffer.from('not an event')]);
    await record(6, 7);
    await stream.settled();
    expect(seen).toEqual([0, 1, 2, 3, 4, 6]);
  });

  it('retries a failed ledger read and then delivers what it missed', async () => {
    const storage = new MemoryLedgerStorage();
    const real = ledgerEventSource(storage);
    let failures = 1;
    const flaky: EventSource = {
      async *read(from, to) {
        if (failures-- > 0) throw new UnavailableError('the store is down');
        yield* real.read(from, to);
      },
    };
    const errors: unknown[] = [];
    const { stream, record } = await ledgerWithStream({ source: flaky, retryMs: 1, onSubscriberError: (err) => errors.push(err) }, storage);
    await record(0, 20);
    const seen = orderedCollector();
    stream.subscribe({ from: 0 }, seen.take);
    await stream.settled();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UnavailableError);
    expect(seen.state).toEqual({ next: 20, count: 20, faults: [] });
  });

  it('stops delivering after close, waits for a running handler, and refuses bad subscriptions', async () => {
    const { stream, record } = await ledgerWithStream();
    const running = gate();
    const release = gate();
    const seen: number[] = [];
    let finished = false;
    const sub = stream.subscribe(async (events) => {
      seen.push(...events.map((e) => e.seq));
      running.open();
      await release.opened;
      finished = true;
    });
    await record(0, 2);
    await running.opened;
    const closing = sub.close();
    await record(2, 4);
    release.open();
    await closing;
    expect(finished).toBe(true);
    expect(seen).toEqual([0, 1]);
    expect(() => stream.subscribe({ from: -1 }, () => {})).toThrow(InvalidInputError);
    expect(() => stream.subscribe({ from: 1.5 }, () => {})).toThrow(/from/);
    await stream.close();
    expect(() => stream.subscribe(() => {})).toThrow(UnavailableError);
  });
});
