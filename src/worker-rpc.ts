/**
 * Requests to a worker thread and their answers: the store's SQLite workers and the ledger's
 * leaf hasher. The worker starts on first use or on `start()`; if it dies, calls in flight fail
 * with UnavailableError and the next call starts a new one.
 * Errors cross as the same classes, so HTTP and CLI map them as usual.
 */
import { Worker, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import { ConfigError, ConflictError, CustosError, IntegrityError, InvalidInputError, NotFoundError, UnavailableError } from './errors.ts';

const BOOT = new URL('./worker-boot.mjs', import.meta.url);
/** Run from the TypeScript sources (vitest, tsx) rather than compiled into dist/. */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

/** What a worker sends back: readiness, the answer to request `id`, or anything else (`onMessage`). */
export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'failed'; error: SerializedError }
  | { kind: 'result'; id: number; result?: unknown; error?: SerializedError }
  | { kind: 'background-error'; error: SerializedError };

interface Running {
  worker: Worker;
  ready: Promise<void>;
}

export class WorkerRpc {
  private running: Running | undefined;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(err: unknown): void }>();
  private nextId = 1;
  private closed = false;

  constructor(
    /** What the worker is, for error messages. */
    private readonly name: string,
    /** The worker's source file (`.ts`); compiled, the `.js` beside it runs. */
    private readonly module: URL,
    private readonly data: object,
    /** Failures the worker reports on its own, and its unexpected death. */
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Starts the worker now rather than on the first call; resolves once it is ready. */
  start(): Promise<void> {
    return this.ensure().ready;
  }

  /** Sends without waiting for an answer. */
  post(message: object): void {
    if (this.closed) return;
    this.ensure().worker.postMessage(message);
  }

  /** Sends only to a worker that is already running: a note it can do without, never a reason to start one. */
  postIfRunning(message: object): void {
    if (this.closed || !this.running) return;
    this.running.worker.postMessage(message);
  }

  async call(request: object, transfer: readonly TransferListItem[] = []): Promise<unknown> {
    if (this.closed) throw new UnavailableError(`the ${this.name} is closed`);
    const running = this.ensure();
    await running.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      running.worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** `farewell`, if given, is called first so the worker can finish its work; then it is stopped. */
  async close(farewell?: object): Promise<void> {
    if (this.closed) return;
    const running = this.running;
    if (running && farewell) {
      try {
        await this.call(farewell);
      } catch (err) {
        this.onError(err);
      }
    }
    this.closed = true;
    this.running = undefined;
    await running?.worker.terminate();
  }

  private ensure(): Running {
    if (this.running) return this.running;
    const worker = startWorker(this.module, this.data);
    // Work left open (a store not closed) must not keep its process alive.
    worker.unref();
    let settle!: { resolve(): void; reject(err: unknown): void };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Callers that only post never await it; a failure reaches them through onError.
    ready.catch(() => {});
    const running: Running = { worker, ready };
    worker.on('message', (reply: WorkerReply) => {
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
    const stopped = (why: string, cause?: Error) => {
      if (this.running !== running) return;
      this.running = undefined;
      const err = new UnavailableError(`the ${this.name} stopped: ${why}`);
      // The thread's own error, stack and all, for whoever logs the death.
      if (cause) err.cause = cause;
      settle.reject(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.closed) this.onError(err);
    };
    worker.on('error', (err) => stopped(err.message, err));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    this.running = running;
    return running;
  }
}

/**
 * A worker thread running `module` (a `.ts` source; compiled, the `.js` beside it) with `data`
 * as its workerData, and a heap of the given limits (default: the process's).
 */
export function startWorker(module: URL, data: object, resourceLimits?: ResourceLimits): Worker {
  // A thread starts without its parent's module hooks: from sources, worker-boot.mjs registers
  // tsx first; compiled code needs none.
  return FROM_SOURCES
    ? new Worker(BOOT, { workerData: { ...data, module: module.href }, ...(resourceLimits ? { resourceLimits } : {}) })
    : new Worker(new URL(module.href.replace(/\.ts$/, '.js')), { workerData: data, ...(resourceLimits ? { resourceLimits } : {}) });
}

export interface SerializedError {
  name: string;
  message: string;
  details?: Record<string, unknown>;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof CustosError) return { name: err.name, message: err.message, details: err.details };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** The same class on this side of the thread boundary, so HTTP and CLI map it as usual. */
export function deserializeError(e: SerializedError): Error {
  const details = e.details ?? {};
  switch (e.name) {
    case 'InvalidInputError':
      return new InvalidInputError(e.message, details as { field?: string });
    case 'NotFoundError':
      return new NotFoundError(e.message, details);
    case 'ConflictError':
      return new ConflictError(e.message, details);
    case 'IntegrityError':
      return new IntegrityError(e.message, details);
    case 'UnavailableError':
      return new UnavailableError(e.message, details);
    case 'ConfigError':
      return new ConfigError(e.message, details);
    default: {
      const err = new Error(e.message);
      err.name = e.name;
      return err;
    }
  }
}
