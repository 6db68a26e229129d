/**
 * The recorder behind the broker: each decision's canonical bytes (RFC 8785 JSON) are
 * appended to the Merkle ledger with group commit, and `record` resolves only once the
 * entry's batch is durable. Every committed batch is then published to the event stream,
 * in ledger order.
 */
import { UnavailableError } from '../errors.ts';
import { canonicalJson, type LedgerAppender } from '../ledger/index.ts';
import { decodeAccessEvent, type AccessEvent, type RecordedEvent } from '../model.ts';
import type { EventStream } from '../stream/stream.ts';
import type { Recorder } from './recorder.ts';

/** The exact bytes the ledger holds for an event. */
export function eventEntryBytes(event: AccessEvent): Buffer {
  return canonicalJson(event);
}

/**
 * Events of committed entries (for publishing): the event the recorder appended with each entry
 * when there is one, else decoded from the bytes (entries appended by other writers); entries
 * that are not events are skipped.
 */
export function recordedEventsOf(start: number, entries: readonly Uint8Array[], notes: readonly unknown[] = []): RecordedEvent[] {
  const out: RecordedEvent[] = [];
  entries.forEach((bytes, i) => {
    const event = (notes[i] as AccessEvent | undefined) ?? decodeAccessEvent(bytes);
    if (event) out.push({ ...event, seq: start + i });
  });
  return out;
}

export class LedgerRecorder implements Recorder {
  private closed = false;

  constructor(private readonly appender: LedgerAppender) {}

  async record(event: AccessEvent): Promise<RecordedEvent> {
    if (this.closed) throw new UnavailableError('the recorder is shut down');
    // The event rides along to the commit hook, which publishes it without decoding the bytes.
    const { index } = await this.appender.append(eventEntryBytes(event), event);
    return { ...event, seq: index };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.appender.close();
  }
}

/**
 * The appender hook that publishes each durable batch to the stream. The appender calls it
 * batch after batch in ledger order, and publishing hands the batch over without waiting for
 * any subscriber, so the stream receives the ledger in order and no append waits on a detector.
 */
export function publishCommitted(stream: EventStream): (start: number, entries: readonly Uint8Array[], notes: readonly unknown[]) => void {
  return (start, entries, notes) => stream.publish({ from: start, to: start + entries.length, events: recordedEventsOf(start, entries, notes) });
}
