/**
 * The store's side of the SQLite index worker (event-index-worker.ts): the same EventIndex and
 * AccessEventQueries as the in-process projection, over messages. The worker starts on first
 * use, so commands that never append or query do not pay for it; if it dies, pending calls
 * fail with UnavailableError and the next call starts a new one (the index is rebuilt from
 * where its file left off).
 */
import { Worker } from 'node:worker_threads';
import { UnavailableError } from '../errors.ts';
import type { AccessAction, Decision, RecordedEvent } from '../model.ts';
import type { AccessEventQueries, EventIndex, EventQuery, ProjectionOptions } from './event-index.ts';
import { deserializeError, type IndexReply, type IndexRequest, type IndexWorkerData, type QueryMethod } from './event-index-protocol.ts';

const BOOT = new URL('../worker-boot.mjs', import.meta.url);
const WORKER_MODULE = new URL('./event-index-worker.ts', import.meta.url).href;

interface Pending {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

interface Running {
  worker: Worker;
  ready: Promise<void>;
}

export class WorkerEventIndex implements EventIndex, AccessEventQueries {
  private running: Running | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private readonly onError: (err: unknown) => void;
  private readonly data: IndexWorkerData;

  constructor(ledgerFile: string, indexFile: string, options: ProjectionOptions = {}) {
    const { onError, ...rest } = options;
    this.onError = onError ?? (() => {});
    this.data = { ledgerFile, indexFile, options: rest };
  }

  noteAppended(size: number): void {
    if (this.closed) return;
    // Fire and forget: the worker projects in its own time, and any read catches up first.
    this.start().worker.postMessage({ kind: 'appended', size } satisfies IndexRequest);
  }

  catchUp(): Promise<void> {
    return this.call({ kind: 'catchUp' }) as Promise<void>;
  }

  indexedThrough(): Promise<number> {
    return this.call({ kind: 'indexedThrough' }) as Promise<number>;
  }

  rebuild(): Promise<void> {
    return this.call({ kind: 'rebuild' }) as Promise<void>;
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

  /** Project what is left and stop the worker; a failure is reported, not thrown (the next start catches up). */
  async close(): Promise<void> {
    if (this.closed) return;
    const running = this.running;
    if (running) {
      try {
        await this.call({ kind: 'close' });
      } catch (err) {
        this.onError(err);
      }
    }
    this.closed = true;
    this.running = undefined;
    await running?.worker.terminate();
  }

  private query(method: QueryMethod, args: unknown[]): Promise<unknown> {
    return this.call({ kind: 'query', method, args });
  }

  private async call(req: { kind: 'catchUp' | 'indexedThrough' | 'rebuild' | 'close' } | { kind: 'query'; method: QueryMethod; args: unknown[] }): Promise<unknown> {
    if (this.closed) throw new UnavailableError('the access-event index is closed');
    const running = this.start();
    await running.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      running.worker.postMessage({ ...req, id } as IndexRequest);
    });
  }

  private start(): Running {
    if (this.running) return this.running;
    const worker = new Worker(BOOT, { workerData: { ...this.data, module: WORKER_MODULE } });
    // A store left open must not keep its process alive; the index catches up on the next start.
    worker.unref();
    let settle!: { resolve(): void; reject(err: unknown): void };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Callers that only post (noteAppended) never await it; a failure reaches them through onError.
    ready.catch(() => {});
    const running: Running = { worker, ready };
    worker.on('message', (reply: IndexReply) => {
      switch (reply.kind) {
        case 'ready':
          settle.resolve();
          break;
        case 'failed':
          settle.reject(deserializeError(reply.error));
          break;
        case 'background-error':
          this.onError(deserializeError(reply.error));
          break;
        case 'result': {
          const p = this.pending.get(reply.id);
          this.pending.delete(reply.id);
          if (reply.error) p?.reject(deserializeError(reply.error));
          else p?.resolve(reply.result);
        }
      }
    });
    const stopped = (why: string) => {
      if (this.running !== running) return;
      this.running = undefined;
      const err = new UnavailableError(`the access-event index worker stopped: ${why}`);
      settle.reject(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.closed) this.onError(err);
    };
    worker.on('error', (err) => stopped(err.message));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    this.running = running;
    return running;
  }
}
