/**
 * The ledger as the stream's memory: a subscriber that starts late or falls behind re-reads the
 * events it has not had from the ledger's entries, which hold every recorded event for good.
 */
import type { LedgerStorage } from '../ledger/index.ts';
import { decodeAccessEvent, type RecordedEvent } from '../model.ts';

/** Where the stream re-reads committed events: the durable log it carries. */
export interface EventSource {
  /** The events of ledger entries [from, to), in ledger order, in arrays; entries that are not events are skipped. */
  read(from: number, to: number): AsyncIterable<RecordedEvent[]>;
}

/** Entries read per query while a subscriber catches up. */
const READ_CHUNK = 1000;

export function ledgerEventSource(storage: LedgerStorage, chunk = READ_CHUNK): EventSource {
  return {
    async *read(from, to) {
      if (storage.readEntryBatches) {
        for await (const entries of storage.readEntryBatches(from, to, chunk)) yield eventsOf(entries);
        return;
      }
      let entries: Array<{ index: number; entry: Uint8Array }> = [];
      for await (const e of storage.readEntries(from, to)) {
        entries.push(e);
        if (entries.length === chunk) {
          yield eventsOf(entries);
          entries = [];
        }
      }
      if (entries.length > 0) yield eventsOf(entries);
    },
  };
}

function eventsOf(entries: ReadonlyArray<{ index: number; entry: Uint8Array }>): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  for (const { index, entry } of entries) {
    const event = decodeAccessEvent(entry);
    if (event) events.push({ ...event, seq: index });
  }
  return events;
}
