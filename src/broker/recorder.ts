/**
 * The recorder: the one interface through which every access decision is written down
 * before any clear value leaves. If `record` rejects, the caller returns no data.
 */
import type { AccessEvent, RecordedEvent } from '../model.ts';

export interface Recorder {
  /** Resolves once the event is durable, with its position in the ledger. */
  record(event: AccessEvent): Promise<RecordedEvent>;
  /** Flush and stop; later `record` calls reject. */
  close(): Promise<void>;
}
