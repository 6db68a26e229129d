/**
 * Group commit over a LedgerStorage. Appends queue up; one flusher writes them in batches, each
 * batch one appendBatch call (one transaction) carrying its entries and the Merkle nodes they
 * complete. An append resolves only once its batch is durable; if the batch fails or times out,
 * every append in it rejects with UnavailableError and the caller must not proceed (fail closed).
 */
import { ConflictError, InvalidInputError, UnavailableError } from '../errors.ts';
import { leafHash, type MerkleFrontier } from './merkle.ts';
import { loadFrontier } from './proofs.ts';
import type { LedgerStorage, StoredNode } from './storage.ts';

export interface LedgerAppenderOptions {
  /** Most entries per batch (default 1000). A single appendMany is never split, so it may exceed this. */
  maxBatch?: number;
  /**
   * Least milliseconds between the starts of two batches (default 0). Under steady load each
   * turn of the event loop brings a request or two, and a batch each would pay its commit (an
   * fsync, a hand-over to the writer) for one or two entries; spaced a little, a batch gathers
   * several. A lone append after a quiet spell is written at once.
   */
  minBatchIntervalMs?: number;
  /** A batch not durable within this many milliseconds fails (default 5000). */
  timeoutMs?: number;
  /**
   * Called after each batch is durable, before its appends resolve, e.g. to publish or to tell the
   * checkpointer. `notes[i]` is what the caller passed with entries[i] (undefined if nothing), so
   * a hook need not decode the bytes it was handed as objects.
   *
   * Called synchronously, batch after batch in ledger order, so what a hook does before its first
   * await happens in ledger order (publishing must). A returned promise is not awaited: the
   * appends resolve and the next batch is written without waiting for it, and its async part may
   * overlap the next call's. A throw or rejection goes to onHookError.
   */
  onCommitted?: (start: number, entries: readonly Uint8Array[], notes: readonly unknown[]) => unknown;
  /** Receives onCommitted failures; without it they surface as an unhandled rejection. */
  onHookError?: (err: unknown) => void;
}

interface QueuedAppend {
  entries: Uint8Array[];
  /** One per entry, for onCommitted; the ledger never reads them. */
  notes: unknown[];
  resolve(start: number): void;
  reject(err: unknown): void;
}

export class LedgerAppender {
  private readonly queue: QueuedAppend[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Set after a failed batch: storage may hold more or less than the frontier thinks. */
  private stale = false;
  /** A write that timed out but may still land; re-sync waits for it a while. */
  private lingeringWrite: Promise<unknown> | undefined;
  private readonly maxBatch: number;
  private readonly timeoutMs: number;
  private readonly minBatchIntervalMs: number;
  /** When the last batch was taken (performance.now()). */
  private lastBatchAt = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly storage: LedgerStorage,
    private frontier: MerkleFrontier,
    private readonly options: LedgerAppenderOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.minBatchIntervalMs = options.minBatchIntervalMs ?? 0;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new InvalidInputError('maxBatch must be a positive whole number', { field: 'maxBatch' });
    if (!(this.minBatchIntervalMs >= 0)) throw new InvalidInputError('minBatchIntervalMs must be zero or more', { field: 'minBatchIntervalMs' });
    if (!(this.timeoutMs > 0)) throw new InvalidInputError('timeoutMs must be positive', { field: 'timeoutMs' });
  }

  /** Opens an appender at the end of the stored log (reads O(log n) nodes). */
  static async open(storage: LedgerStorage, options: LedgerAppenderOptions = {}): Promise<LedgerAppender> {
    return new LedgerAppender(storage, await loadFrontier(storage), options);
  }

  /** Entries durably appended, as far as this appender knows. */
  get size(): number {
    return this.frontier.size;
  }

  /** The root of the tree of `size` entries. */
  root(): Uint8Array {
    return this.frontier.root();
  }

  /** Appends one entry; resolves with its index once durable. `note` is handed to onCommitted with it. */
  async append(entry: Uint8Array, note?: unknown): Promise<{ index: number }> {
    return { index: await this.enqueue([entry], [note]) };
  }

  /** Appends entries atomically (one batch) at consecutive indexes from `start`. */
  async appendMany(entries: readonly Uint8Array[]): Promise<{ start: number; count: number }> {
    if (entries.length === 0) return { start: this.size, count: 0 };
    return { start: await this.enqueue([...entries], new Array<unknown>(entries.length).fill(undefined)), count: entries.length };
  }

  /** Writes what is queued, then refuses further appends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
  }

  private enqueue(entries: Uint8Array[], notes: unknown[]): Promise<number> {
    if (this.closed) return Promise.reject(new UnavailableError('the ledger appender is closed'));
    if (!entries.every((e) => e instanceof Uint8Array)) return Promise.reject(new InvalidInputError('ledger entries must be bytes'));
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ entries, notes, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      // Yield to the event loop before taking each batch: a synchronous store (SQLite) completes a
      // whole batch inside microtasks, so without this no request could arrive while one is written
      // and every batch would hold a single entry. One setImmediate is all a lone append waits.
      while (this.queue.length > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const wait = this.lastBatchAt + this.minBatchIntervalMs - performance.now();
        if (wait > 0) await new Promise<void>((resolve) => setTimeout(resolve, wait));
        this.lastBatchAt = performance.now();
        await this.writeBatch(this.takeBatch());
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private takeBatch(): QueuedAppend[] {
    let taken = 1;
    let count = (this.queue[0] as QueuedAppend).entries.length;
    while (taken < this.queue.length && count + (this.queue[taken] as QueuedAppend).entries.length <= this.maxBatch) {
      count += (this.queue[taken] as QueuedAppend).entries.length;
      taken++;
    }
    // One splice per batch: shifting one by one is quadratic when 100,000 appends wait.
    return this.queue.splice(0, taken);
  }

  /** Never throws: the outcome goes to the batch's promises. */
  private async writeBatch(batch: QueuedAppend[]): Promise<void> {
    const entries = batch.flatMap((a) => a.entries);
    const deadline = Date.now() + this.timeoutMs;
    let start = 0;
    for (;;) {
      try {
        start = await this.tryWrite(entries);
        break;
      } catch (err) {
        this.stale = true;
        // Another process appended first (another server, a CLI): nothing of ours was written,
        // so re-read the tree and place the batch after theirs, for as long as the append may
        // take. Each conflict means another writer made progress, so the log as a whole does.
        if (err instanceof ConflictError && Date.now() < deadline) continue;
        const failure = new UnavailableError(
          err instanceof UnavailableError ? err.message : 'the ledger could not durably record the entry',
        );
        failure.cause = err;
        for (const a of batch) a.reject(failure);
        return;
      }
    }
    this.notifyCommitted(start, entries, batch.flatMap((a) => a.notes));
    let index = start;
    for (const a of batch) {
      a.resolve(index);
      index += a.entries.length;
    }
  }

  /** One attempt at a batch; returns its first index once durable. */
  private async tryWrite(entries: Uint8Array[]): Promise<number> {
    if (this.stale) await this.resync();
    if (this.storage.appendSequenced) return this.tryWriteSequenced(this.storage.appendSequenced.bind(this.storage), entries);
    const start = this.frontier.size;
    // Advance a copy: the frontier moves only once the batch is durable.
    const next = this.frontier.clone();
    const nodes: StoredNode[] = [];
    for (const entry of entries) next.append(leafHash(entry), nodes);
    const write = this.storage.appendBatch(start, entries, nodes);
    await this.withinTimeout(write, () => {
      this.lingeringWrite = write;
    });
    this.frontier = next;
    return start;
  }

  /** The storage places the batch under its sequencer; the frontier is re-read only if another writer appended. */
  private async tryWriteSequenced(append: NonNullable<LedgerStorage['appendSequenced']>, entries: Uint8Array[]): Promise<number> {
    let next: MerkleFrontier | undefined;
    const write = append(entries, async (size) => {
      const base = size === this.frontier.size ? this.frontier : await loadFrontier(this.storage, size);
      const advanced = base.clone();
      const nodes: StoredNode[] = [];
      for (const entry of entries) advanced.append(leafHash(entry), nodes);
      next = advanced;
      return nodes;
    });
    const start = await this.withinTimeout(write, () => {
      this.lingeringWrite = write;
    });
    this.frontier = next!;
    return start;
  }

  private async resync(): Promise<void> {
    if (this.lingeringWrite) {
      // Let a timed-out write land before reading the size; if it never settles, go on: the
      // storage refuses an append whose start is not its size, so a late landing cannot fork the log.
      await this.withinTimeout(this.lingeringWrite).catch(() => {});
      this.lingeringWrite = undefined;
    }
    this.frontier = await this.withinTimeout(loadFrontier(this.storage));
    this.stale = false;
  }

  private async withinTimeout<T>(work: Promise<T>, onTimeout?: () => void): Promise<T> {
    // Once the deadline wins, a late rejection of `work` has no listener; keep it from going unhandled.
    work.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.();
        reject(new UnavailableError(`the ledger store did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private notifyCommitted(start: number, entries: readonly Uint8Array[], notes: readonly unknown[]): void {
    const hook = this.options.onCommitted;
    if (!hook) return;
    const report = (err: unknown): void => {
      if (this.options.onHookError) this.options.onHookError(err);
      else void Promise.reject(err);
    };
    try {
      const result = hook(start, entries, notes);
      if (result instanceof Promise) result.catch(report);
    } catch (err) {
      report(err);
    }
  }
}
