/**
 * Signs checkpoints of the stored log: once at least `every` entries have accumulated since the
 * last one, at least every `intervalMs` while the tree grows, and on close. Reads only durable
 * state (storage size and stored nodes), so it signs nothing that could still be rolled back.
 */
import { InvalidInputError } from '../errors.ts';
import { signCheckpoint } from './checkpoint.ts';
import type { NoteSigner } from './note.ts';
import { rootAt } from './proofs.ts';
import type { LedgerStorage, StoredCheckpoint } from './storage.ts';

export interface CheckpointerOptions {
  /** Sign once this many entries have been appended since the last checkpoint. */
  every: number;
  /** …or once this much time has passed since the last checkpoint and the tree grew. */
  intervalMs: number;
  /** The clock; tests pass a fake one. */
  now: () => Date;
}

export class LedgerCheckpointer {
  private latestCheckpoint: StoredCheckpoint | undefined;
  private lastSignedAtMs: number;
  /** Signings run one at a time, so two never race to the same size. */
  private exclusive: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly storage: LedgerStorage,
    private readonly signer: NoteSigner,
    private readonly options: CheckpointerOptions,
    latest: StoredCheckpoint | undefined,
  ) {
    if (!Number.isInteger(options.every) || options.every < 1) throw new InvalidInputError('every must be a positive whole number', { field: 'every' });
    if (!(options.intervalMs > 0)) throw new InvalidInputError('intervalMs must be positive', { field: 'intervalMs' });
    this.latestCheckpoint = latest;
    // Without a previous checkpoint the interval has already elapsed: sign at the first chance.
    this.lastSignedAtMs = latest ? Date.parse(latest.signedAt) : Number.NEGATIVE_INFINITY;
  }

  /** `signer.name` is the origin of every checkpoint it signs. */
  static async open(storage: LedgerStorage, signer: NoteSigner, options: CheckpointerOptions): Promise<LedgerCheckpointer> {
    return new LedgerCheckpointer(storage, signer, options, await storage.latestCheckpoint());
  }

  /** The newest checkpoint signed or found in storage. */
  latest(): StoredCheckpoint | undefined {
    return this.latestCheckpoint;
  }

  /** Tell it the log now holds `size` entries (wire to LedgerAppender's onCommitted); signs every N. */
  async noteAppended(size: number): Promise<StoredCheckpoint | undefined> {
    if (size - this.signedSize() < this.options.every) return undefined;
    return this.run(() => this.signIfGrownBy(this.options.every));
  }

  /** Signs if the interval has passed and the tree grew; call periodically (start() does). */
  async tick(): Promise<StoredCheckpoint | undefined> {
    if (this.options.now().getTime() - this.lastSignedAtMs < this.options.intervalMs) return undefined;
    return this.run(() => this.signIfGrownBy(1));
  }

  /** Signs now if the tree grew since the last checkpoint. */
  async checkpoint(): Promise<StoredCheckpoint | undefined> {
    return this.run(() => this.signIfGrownBy(1));
  }

  /** Runs tick() on a timer; failures go to `onError` (the timer keeps running). */
  start(onError: (err: unknown) => void): void {
    if (this.timer) return;
    // Check several times per interval so a checkpoint is at most ~10% late.
    const period = Math.max(10, Math.min(1000, Math.floor(this.options.intervalMs / 10)));
    this.timer = setInterval(() => void this.tick().catch(onError), period);
    this.timer.unref();
  }

  /** Stops the timer and signs a final checkpoint if the tree grew. */
  async close(): Promise<StoredCheckpoint | undefined> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return this.checkpoint();
  }

  private signedSize(): number {
    return this.latestCheckpoint?.size ?? 0;
  }

  private run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.exclusive.then(work);
    this.exclusive = result.catch(() => {});
    return result;
  }

  private async signIfGrownBy(minGrowth: number): Promise<StoredCheckpoint | undefined> {
    const size = await this.storage.size();
    if (size - this.signedSize() < minGrowth) return undefined;
    const root = await rootAt(this.storage, size);
    const signedAt = this.options.now();
    const note = signCheckpoint({ origin: this.signer.name, size, root, extensions: [] }, this.signer);
    const stored: StoredCheckpoint = { size, note, signedAt: signedAt.toISOString() };
    await this.storage.saveCheckpoint(stored);
    this.latestCheckpoint = stored;
    this.lastSignedAtMs = signedAt.getTime();
    return stored;
  }
}
