/**
 * The store's side of the SQLite index worker (event-index-worker.ts): the same EventIndex and
 * AccessEventQueries as the in-process projection, over messages (worker-rpc.ts). The worker
 * starts on first use, so commands that never append or query do not pay for it.
 */
import type { AccessAction, Decision, RecordedEvent } from '../model.ts';
import type { AccessEventQueries, EventIndex, EventQuery, ExposureQuery, ProjectionOptions } from './event-index.ts';
import type { ExposurePage } from './exposures.ts';
import type { IndexRequest, IndexWorkerData, QueryMethod } from './event-index-protocol.ts';
import { WorkerRpc } from '../worker-rpc.ts';

const WORKER_MODULE = new URL('./event-index-worker.ts', import.meta.url);
/**
 * At most one note of the ledger's size per this many milliseconds. Under load the ledger commits
 * hundreds of batches a second, a message to the worker each, while the worker projects in bulk
 * every 200 ms anyway; queries catch up on their own, whatever they were told.
 */
const NOTE_EVERY_MS = 20;

export class WorkerEventIndex implements EventIndex, AccessEventQueries {
  private readonly rpc: WorkerRpc;
  /** The largest size noted, and the largest told to the worker. */
  private noted = 0;
  private told = 0;
  private noteTimer: NodeJS.Timeout | undefined;

  constructor(ledgerFile: string, indexFile: string, options: ProjectionOptions = {}) {
    const { onError, ...rest } = options;
    const data: IndexWorkerData = { ledgerFile, indexFile, options: rest };
    this.rpc = new WorkerRpc('access-event index worker', WORKER_MODULE, data, onError ?? (() => {}));
  }

  ready(): Promise<void> {
    return this.rpc.start();
  }

  noteAppended(size: number): void {
    this.noted = Math.max(this.noted, size);
    if (this.noteTimer || this.noted <= this.told) return;
    // Fire and forget: the worker projects in its own time, and any read catches up first. A
    // process that never reads the index (a CLI command) does not start it for this.
    this.told = this.noted;
    this.rpc.postIfRunning({ kind: 'appended', size: this.told } satisfies IndexRequest);
    // Sizes noted meanwhile go in one message when the time is up.
    this.noteTimer = setTimeout(() => {
      this.noteTimer = undefined;
      this.noteAppended(this.noted);
    }, NOTE_EVERY_MS);
    this.noteTimer.unref();
  }

  catchUp(): Promise<void> {
    return this.rpc.call({ kind: 'catchUp' }) as Promise<void>;
  }

  indexedThrough(): Promise<number> {
    return this.rpc.call({ kind: 'indexedThrough' }) as Promise<number>;
  }

  rebuild(): Promise<void> {
    return this.rpc.call({ kind: 'rebuild' }) as Promise<void>;
  }

  byActor(actor: string, q: EventQuery): Promise<RecordedEvent[]> {
    return this.query('byActor', [actor, q]) as Promise<RecordedEvent[]>;
  }

  byCustomer(customer: string, q: EventQuery): Promise<RecordedEvent[]> {
    return this.query('byCustomer', [customer, q]) as Promise<RecordedEvent[]>;
  }

  byTime(q: EventQuery): Promise<RecordedEvent[]> {
    return this.query('byTime', [q]) as Promise<RecordedEvent[]>;
  }

  countSince(actor: string, action: AccessAction, decision: Decision, since: string): Promise<number> {
    return this.query('countSince', [actor, action, decision, since]) as Promise<number>;
  }

  countsByActorSince(action: AccessAction, decision: Decision, since: string): Promise<Array<{ actor: string; timeMs: number }>> {
    return this.query('countsByActorSince', [action, decision, since]) as Promise<Array<{ actor: string; timeMs: number }>>;
  }

  exposuresByActor(actor: string, q: ExposureQuery): Promise<ExposurePage> {
    return this.query('exposuresByActor', [actor, q]) as Promise<ExposurePage>;
  }

  exposuresByCustomers(customers: readonly string[], q: ExposureQuery): Promise<ExposurePage> {
    return this.query('exposuresByCustomers', [customers, q]) as Promise<ExposurePage>;
  }

  /** Project what is left and stop the worker; a failure is reported, not thrown (the next start catches up). */
  close(): Promise<void> {
    clearTimeout(this.noteTimer);
    return this.rpc.close({ kind: 'close' });
  }

  private query(method: QueryMethod, args: unknown[]): Promise<unknown> {
    return this.rpc.call({ kind: 'query', method, args });
  }
}
