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

/** A batch handed to the storage before the batches ahead of it settled. */
interface EarlyWrite {
  start: number;
  /** The frontier once it lands. */
  next: MerkleFrontier;
  write: Promise<void>;
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
  /** Batches handed to the storage and not yet settled: two when it applies them in order (the next one waits behind the last), else one. */
  private readonly maxInFlight: number;
  private inFlight = 0;
  private slotFreed: (() => void) | undefined;
  /** The frontier once every batch handed over early has landed; cleared by a failure. */
  private issuedFrontier: MerkleFrontier | undefined;
  /** Settles once the last batch taken has settled, its hook called and its appends answered. */
  private lastSettled: Promise<void> = Promise.resolve();

  private constructor(
    private readonly storage: LedgerStorage,
    private frontier: MerkleFrontier,
    private readonly options: LedgerAppenderOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxInFlight = storage.appliesBatchesInOrder ? 2 : 1;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new InvalidInputError('maxBatch must be a positive whole number', { field: 'maxBatch' });
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
    await this.lastSettled;
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
        while (this.inFlight >= this.maxInFlight) await new Promise<void>((resolve) => (this.slotFreed = resolve));
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.startBatch(this.takeBatch());
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

  /**
   * Writes a batch; with a storage that applies batches in order it goes out at once, on the
   * frontier the batches before it will leave, so the writer never idles while this thread is
   * busy with requests between one batch's answer and the next batch.
   */
  private startBatch(batch: QueuedAppend[]): void {
    const entries = batch.flatMap((a) => a.entries);
    let early: EarlyWrite | undefined;
    if (this.storage.appliesBatchesInOrder && !this.stale) {
      // Nothing in flight: the frontier is the log's. Otherwise only while every batch before
      // this one went out early too (after a failure the next batch waits and re-syncs).
      const base = this.inFlight === 0 ? this.frontier : this.issuedFrontier;
      if (base) early = this.writeEarly(base, entries);
    }
    this.inFlight++;
    const previous = this.lastSettled;
    this.lastSettled = this.writeBatch(batch, entries, previous, early).finally(() => {
      this.inFlight--;
      const freed = this.slotFreed;
      this.slotFreed = undefined;
      freed?.();
    });
  }

  private writeEarly(base: MerkleFrontier, entries: Uint8Array[]): EarlyWrite {
    const start = base.size;
    const next = base.clone();
    const nodes: StoredNode[] = [];
    for (const entry of entries) next.append(leafHash(entry), nodes);
    this.issuedFrontier = next;
    const write = this.storage.appendBatch(start, entries, nodes);
    // Settled (and timed) only after the batches before it; until then a rejection has no listener.
    write.catch(() => {});
    return { start, next, write };
  }

  /** Never throws: the outcome goes to the batch's promises, after every earlier batch's. */
  private async writeBatch(batch: QueuedAppend[], entries: Uint8Array[], previous: Promise<void>, early: EarlyWrite | undefined): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    await previous;
    let start = 0;
    let written = false;
    if (early) {
      try {
        await this.withinTimeout(early.write, () => {
          this.lingeringWrite = early.write;
        });
        this.frontier = early.next;
        start = early.start;
        written = true;
      } catch (err) {
        if (!this.fail(batch, err, deadline)) return;
      }
    }
    while (!written) {
      try {
        start = await this.tryWrite(entries);
        written = true;
      } catch (err) {
        if (!this.fail(batch, err, deadline)) return;
      }
    }
    this.notifyCommitted(start, entries, batch.flatMap((a) => a.notes));
    let index = start;
    for (const a of batch) {
      a.resolve(index);
      index += a.entries.length;
    }
  }

  /**
   * After a failed attempt: true to try again (another process appended first, or a batch before
   * this one failed, and there is time left), else the batch's appends are rejected.
   */
  private fail(batch: QueuedAppend[], err: unknown, deadline: number): boolean {
    this.stale = true;
    this.issuedFrontier = undefined;
    // Another process appended first (another server, a CLI), or an earlier batch of ours did not
    // land: nothing of this batch was written, so re-read the tree and place it after what is
    // there, for as long as the append may take. Each conflict means some writer made progress.
    if (err instanceof ConflictError && Date.now() < deadline) return true;
    const failure = new UnavailableError(err instanceof UnavailableError ? err.message : 'the ledger could not durably record the entry');
    failure.cause = err;
    for (const a of batch) a.reject(failure);
    return false;
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
