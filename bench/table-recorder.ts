/**
 * The broker section's baseline recorder, bench-only (never production): #2's append-only
 * table. Each decision's canonical entry bytes (eventEntryBytes, as the ledger holds them) go
 * into one table with group commit — one transaction per batch of up to maxBatch, and `record`
 * resolves only once its batch has committed on the same connection and pragmas
 * (synchronous = FULL) as the ledger — with no Merkle tree, no checkpoints, no access-event
 * index and no stream. The flush loop mirrors LedgerAppender's so batches form alike.
 */
import { sql, type Kysely } from 'kysely';
import { UnavailableError } from '../src/errors.ts';
import { eventEntryBytes } from '../src/broker/ledger-recorder.ts';
import type { Recorder } from '../src/broker/recorder.ts';
import type { AccessEvent, RecordedEvent } from '../src/model.ts';
import type { Database } from '../src/store/schema.ts';
import type { Store } from '../src/store/store.ts';

export const ACCESS_TABLE = 'bench_access_table';

// A type alias, not an interface: withTables needs an index-signature-compatible record.
type AccessTable = {
  [ACCESS_TABLE]: { seq: number; entry: Uint8Array };
};

interface QueuedRecord {
  entry: Uint8Array;
  resolve(seq: number): void;
  reject(err: unknown): void;
}

export class TableRecorder implements Recorder {
  private readonly queue: QueuedRecord[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Committed transactions and the entries in them, to compare batching with the ledger's. */
  batches = 0;
  committed = 0;

  private constructor(
    private readonly db: Kysely<Database & AccessTable>,
    private nextSeq: number,
    private readonly maxBatch: number,
  ) {}

  /** Creates the table in the store's SQLite database if need be and appends after what it holds. */
  static async open(store: Store, maxBatch: number): Promise<TableRecorder> {
    if (store.dialect !== 'sqlite') throw new Error('the table recorder baseline is SQLite only');
    // INTEGER PRIMARY KEY: the rowid itself, the cheapest append-only table SQLite has.
    await sql`create table if not exists ${sql.id(ACCESS_TABLE)} (seq integer primary key, entry blob not null)`.execute(store.db);
    const db = store.db.withTables<AccessTable>();
    const row = await db.selectFrom(ACCESS_TABLE).select(sql<number | null>`max(seq)`.as('last')).executeTakeFirst();
    return new TableRecorder(db, row?.last == null ? 0 : Number(row.last) + 1, maxBatch);
  }

  /** Entries committed so far (the next seq). */
  get size(): number {
    return this.nextSeq;
  }

  record(event: AccessEvent): Promise<RecordedEvent> {
    if (this.closed) return Promise.reject(new UnavailableError('the recorder is shut down'));
    // Encoded here, as LedgerRecorder does before it appends: the same bytes at the same point.
    const entry = eventEntryBytes(event);
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      this.flushing ??= this.flushLoop();
    }).then((seq) => ({ ...event, seq }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    try {
      // As LedgerAppender: yield before each batch, or a synchronous SQLite commit would leave
      // no chance for other records to queue and every batch would hold one entry.
      while (this.queue.length > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.writeBatch(this.queue.splice(0, this.maxBatch));
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Never throws: the outcome goes to the batch's promises (fail closed, as the ledger does). */
  private async writeBatch(batch: QueuedRecord[]): Promise<void> {
    const start = this.nextSeq;
    const rows = batch.map((r, i) => ({ seq: start + i, entry: r.entry }));
    try {
      await this.db.transaction().execute((tx) => tx.insertInto(ACCESS_TABLE).values(rows).execute());
    } catch (err) {
      const failure = new UnavailableError('the access table could not durably record the entry');
      failure.cause = err;
      for (const r of batch) r.reject(failure);
      return;
    }
    this.nextSeq += batch.length;
    this.batches++;
    this.committed += batch.length;
    batch.forEach((r, i) => r.resolve(start + i));
  }
}
