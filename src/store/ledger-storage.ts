/**
 * The ledger's storage (src/ledger/storage.ts) in SQL. Each batch is one transaction that
 * writes the entries and the Merkle nodes they complete: on PostgreSQL through the pool, on
 * SQLite on the writer thread (ledger-writer.ts). The access-event query index is projected
 * from the committed entries afterwards (access-event-projection.ts).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely, type Transaction } from 'kysely';
import { ConflictError, IntegrityError } from '../errors.ts';
import type { LedgerStorage, NodeKey, StoredCheckpoint, StoredEntry, StoredNode } from '../ledger/storage.ts';
import type { LedgerWriter } from './ledger-writer.ts';
import type { Database } from './schema.ts';
import type { StoreDialect } from './store.ts';

const READ_PAGE = 10_000;
/** Names the PostgreSQL advisory lock that sequences ledger batches (one per schema). */
const LEDGER_SEQUENCER = ':custos-ledger-sequencer';
// Fewer keys than this on one level are looked up one by one (a proof's handful).
const DENSE_MIN = 8;
// Bound parameters per multi-row INSERT stay far below both dialects' limits.
const INSERT_CHUNK = 1_000;

export class SqlLedgerStorage implements LedgerStorage {
  // Hot reads on SQLite go through prepared statements: verification reads millions of rows,
  // and kysely's per-query compilation would dominate. On the shared connection such a read may
  // see rows of a batch still being committed, but callers only read below the committed size.
  private preparedNodeLookup: BetterSqlite3.Statement | undefined;
  private preparedNodeRange: BetterSqlite3.Statement | undefined;
  private preparedEntryPage: BetterSqlite3.Statement | undefined;
  /** Told the committed size after every batch (the store points it at the index projection). */
  onAppended: ((size: number) => void) | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect,
    private readonly sqlite: BetterSqlite3.Database | undefined,
    private readonly writer?: LedgerWriter,
  ) {}

  // Proof generation is latency-sensitive; a prepared statement skips query compilation.
  // Prepared lazily: the table exists only once migrations ran.
  private get nodeLookup(): BetterSqlite3.Statement | undefined {
    if (this.sqlite && !this.preparedNodeLookup) {
      this.preparedNodeLookup = this.sqlite.prepare('SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?');
    }
    return this.preparedNodeLookup;
  }

  async size(): Promise<number> {
    return sizeIn(this.db);
  }

  async appendBatch(start: number, entries: Uint8Array[], nodes: StoredNode[]): Promise<void> {
    if (this.sqlite) {
      // SQLite batches are written by the writer thread (ledger-writer.ts); without one this
      // storage only reads (the index worker's view of the ledger).
      if (!this.writer) throw new Error('this SQLite ledger storage has no writer: it is read-only');
      await this.writer.writeBatch(start, entries, nodes);
    } else {
      try {
        await this.db.transaction().execute(async (tx) => {
          // The sequencer: one appender at a time per schema, held until this transaction ends
          // (commit, rollback, or the connection dying with its process), as tessera's MySQL
          // storage holds its tree-state row. Under it the size read is the size written after.
          await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ${LEDGER_SEQUENCER}))`.execute(tx);
          const current = await sizeIn(tx);
          if (current !== start) throw new ConflictError(`ledger append at ${start} but the log holds ${current} entries`);
          await insertChunked(tx, 'ledger_entries', entries.map((entry, i) => ({ idx: start + i, entry })));
          await insertChunked(tx, 'ledger_nodes', nodes.map((n) => ({ level: n.level, idx: n.index, hash: n.hash })));
        });
      } catch (err) {
        // Two writers that read the same size race to the same index; the loser learns it here.
        if ((err as { code?: string }).code === '23505') throw new ConflictError(`another writer appended at ${start} first`);
        throw err;
      }
    }
    this.onAppended?.(start + entries.length);
  }

  /**
   * Proofs ask for a few nodes at scattered (level, index) keys; verification asks for long
   * contiguous runs per level. Each level's keys are read with one range query when they are
   * dense, else key by key (SQLite, prepared) or with one tuple IN query (PostgreSQL).
   */
  async getNodes(keys: NodeKey[]): Promise<Uint8Array[]> {
    if (keys.length === 0) return [];
    const found = new Map<string, Uint8Array>();
    const sparse: NodeKey[] = [];
    const byLevel = new Map<number, NodeKey[]>();
    for (const k of keys) {
      const list = byLevel.get(k.level) ?? [];
      list.push(k);
      byLevel.set(k.level, list);
    }
    for (const [level, list] of byLevel) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const k of list) {
        lo = Math.min(lo, k.index);
        hi = Math.max(hi, k.index);
      }
      if (list.length >= DENSE_MIN && hi - lo + 1 <= 2 * list.length) {
        for (const row of await this.nodeRange(level, lo, hi)) found.set(`${level}/${Number(row.idx)}`, row.hash);
      } else {
        sparse.push(...list);
      }
    }
    if (sparse.length > 0) {
      const lookup = this.nodeLookup;
      if (lookup) {
        for (const k of sparse) {
          const row = lookup.get(k.level, k.index) as { hash: Buffer } | undefined;
          if (row) found.set(`${k.level}/${k.index}`, row.hash);
        }
      } else {
        const rows = await this.db
          .selectFrom('ledger_nodes')
          .select(['level', 'idx', 'hash'])
          .where((eb) => eb(eb.refTuple('level', 'idx'), 'in', sparse.map((k) => eb.tuple(k.level, k.index))))
          .execute();
        for (const r of rows) found.set(`${r.level}/${Number(r.idx)}`, r.hash);
      }
    }
    return keys.map((k) => {
      const hash = found.get(`${k.level}/${k.index}`);
      if (!hash) throw missingNode(k);
      return hash;
    });
  }

  private async nodeRange(level: number, lo: number, hi: number): Promise<Array<{ idx: number; hash: Uint8Array }>> {
    if (this.sqlite) {
      this.preparedNodeRange ??= this.sqlite.prepare('SELECT idx, hash FROM ledger_nodes WHERE level = ? AND idx BETWEEN ? AND ?');
      return this.preparedNodeRange.all(level, lo, hi) as Array<{ idx: number; hash: Buffer }>;
    }
    return this.db
      .selectFrom('ledger_nodes')
      .select(['idx', 'hash'])
      .where('level', '=', level)
      .where('idx', '>=', lo)
      .where('idx', '<=', hi)
      .execute();
  }

  /** Verification reads the log a page per query and hands it over in batches. */
  async *readEntryBatches(from: number, to: number, batchSize: number): AsyncIterable<StoredEntry[]> {
    // Pages of at most batchSize rows, each handed over as it is: SQLite rows come back already
    // shaped as StoredEntry, so a million-entry verification allocates nothing per entry but the bytes.
    const page = Math.max(1, Math.min(READ_PAGE, batchSize));
    let next = from;
    while (next < to) {
      const rows: StoredEntry[] = this.sqlite
        ? ((this.preparedEntryPage ??= this.sqlite.prepare('SELECT idx AS "index", entry FROM ledger_entries WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ?')).all(next, to, page) as StoredEntry[])
        : (
            await this.db
              .selectFrom('ledger_entries')
              .select(['idx', 'entry'])
              .where('idx', '>=', next)
              .where('idx', '<', to)
              .orderBy('idx')
              .limit(page)
              .execute()
          ).map((r) => ({ index: Number(r.idx), entry: r.entry }));
      if (rows.length === 0) return;
      yield rows;
      next = rows[rows.length - 1]!.index + 1;
    }
  }

  async *readEntries(from: number, to: number): AsyncIterable<StoredEntry> {
    for await (const batch of this.readEntryBatches(from, to, READ_PAGE)) yield* batch;
  }

  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    await this.db
      .insertInto('ledger_checkpoints')
      .values({ size: checkpoint.size, note: checkpoint.note, signed_at: checkpoint.signedAt })
      .onConflict((oc) => oc.column('size').doNothing())
      .execute();
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const row = await this.db.selectFrom('ledger_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
    return row ? { size: Number(row.size), note: row.note, signedAt: row.signed_at } : undefined;
  }

  async *listCheckpoints(): AsyncIterable<StoredCheckpoint> {
    let after = -1;
    for (;;) {
      const rows = await this.db
        .selectFrom('ledger_checkpoints')
        .selectAll()
        .where('size', '>', after)
        .orderBy('size')
        .limit(1000)
        .execute();
      if (rows.length === 0) return;
      for (const r of rows) yield { size: Number(r.size), note: r.note, signedAt: r.signed_at };
      after = Number(rows[rows.length - 1]!.size);
    }
  }

  get dialectName(): StoreDialect {
    return this.dialect;
  }
}

async function sizeIn(db: Kysely<Database> | Transaction<Database>): Promise<number> {
  const row = await db
    .selectFrom('ledger_entries')
    .select(sql<number | null>`max(idx)`.as('last'))
    .executeTakeFirst();
  return row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1;
}

function missingNode(k: NodeKey): IntegrityError {
  return new IntegrityError(`ledger node level ${k.level} index ${k.index} is missing from the store`);
}

/** Multi-row INSERTs of at most INSERT_CHUNK rows each (PostgreSQL paths). */
export async function insertChunked<T extends keyof Database>(
  tx: Transaction<Database>,
  table: T,
  rows: Database[T][],
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    // kysely cannot type a table chosen at run time; the rows are typed by the caller.
    await tx.insertInto(table).values(rows.slice(i, i + INSERT_CHUNK) as never).execute();
  }
}
