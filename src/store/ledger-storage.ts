/**
 * The ledger's storage (src/ledger/storage.ts) in SQL, one class per dialect. Each batch is one
 * transaction that writes the entries and the Merkle nodes they complete: on PostgreSQL through
 * the pool under the sequencer, on SQLite on the writer thread (ledger-writer.ts). The access-event query index is projected
 * from the committed entries afterwards (access-event-projection.ts).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely, type Transaction } from 'kysely';
import { ConflictError, IntegrityError } from '../errors.ts';
import type { LedgerStorage, NodeKey, StoredCheckpoint, StoredEntry, StoredNode } from '../ledger/storage.ts';
import type { LedgerWriter } from './ledger-writer.ts';
import type { Database } from './schema.ts';

const READ_PAGE = 10_000;
/** Names the PostgreSQL advisory lock that sequences ledger batches (one per schema). */
const LEDGER_SEQUENCER = ':custos-ledger-sequencer';
// Fewer keys than this on one level are looked up one by one (a proof's handful).
const DENSE_MIN = 8;
// Bound parameters per multi-row INSERT stay far below both dialects' limits.
const INSERT_CHUNK = 1_000;

/**
 * What both dialects share: sizes, node and entry reads by the same queries, checkpoints. Each
 * dialect's class below adds how it writes a batch and its own fast paths for reads.
 */
export abstract class SqlLedgerStorage implements LedgerStorage {
  /** Told the committed size after every batch (the store points it at the index projection). */
  onAppended: ((size: number) => void) | undefined;

  constructor(protected readonly db: Kysely<Database>) {}

  abstract appendBatch(start: number, entries: Uint8Array[], nodes: StoredNode[]): Promise<void>;
  /** Nodes at scattered keys of one or more levels (a proof's handful), into `found` by "level/index". */
  protected abstract lookupSparse(keys: NodeKey[], found: Map<string, Uint8Array>): Promise<void>;
  /** One level's nodes with lo <= index <= hi. */
  protected abstract nodeRange(level: number, lo: number, hi: number): Promise<Array<{ idx: number; hash: Uint8Array }>>;
  /** At most `limit` entries with from <= index < to, in index order. */
  protected abstract entryPage(from: number, to: number, limit: number): Promise<StoredEntry[]>;

  async size(): Promise<number> {
    return sizeIn(this.db);
  }

  /**
   * Proofs ask for a few nodes at scattered (level, index) keys; verification asks for long
   * contiguous runs per level. Each level's keys are read with one range query when they are
   * dense, else through the dialect's sparse lookup.
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
    if (sparse.length > 0) await this.lookupSparse(sparse, found);
    return keys.map((k) => {
      const hash = found.get(`${k.level}/${k.index}`);
      if (!hash) throw missingNode(k);
      return hash;
    });
  }

  /** Verification reads the log a page per query and hands it over in batches. */
  async *readEntryBatches(from: number, to: number, batchSize: number): AsyncIterable<StoredEntry[]> {
    const page = Math.max(1, Math.min(READ_PAGE, batchSize));
    let next = from;
    while (next < to) {
      const rows = await this.entryPage(next, to, page);
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
}

/**
 * SQLite: batches are written by the writer thread (ledger-writer.ts); without one this storage
 * only reads (the index worker's view of the ledger). Hot reads go through prepared statements:
 * verification reads millions of rows and proofs are latency-sensitive, and kysely's per-query
 * compilation would dominate. On the shared connection such a read may see rows of a batch
 * still being committed, but callers only read below the committed size.
 */
export class SqliteLedgerStorage extends SqlLedgerStorage {
  // Prepared lazily: the tables exist only once migrations ran.
  private preparedNodeLookup: BetterSqlite3.Statement | undefined;
  private preparedNodeRange: BetterSqlite3.Statement | undefined;
  private preparedEntryPage: BetterSqlite3.Statement | undefined;

  constructor(
    db: Kysely<Database>,
    private readonly sqlite: BetterSqlite3.Database,
    private readonly writer?: LedgerWriter,
  ) {
    super(db);
  }

  async appendBatch(start: number, entries: Uint8Array[], nodes: StoredNode[]): Promise<void> {
    if (!this.writer) throw new Error('this SQLite ledger storage has no writer: it is read-only');
    await this.writer.writeBatch(start, entries, nodes);
    this.onAppended?.(start + entries.length);
  }

  /** On the writer thread too (ledger-writer.ts says why), when there is one. */
  override async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    if (this.writer) await this.writer.saveCheckpoint(checkpoint);
    else await super.saveCheckpoint(checkpoint);
  }

  protected async lookupSparse(keys: NodeKey[], found: Map<string, Uint8Array>): Promise<void> {
    const lookup = (this.preparedNodeLookup ??= this.sqlite.prepare('SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?'));
    for (const k of keys) {
      const row = lookup.get(k.level, k.index) as { hash: Buffer } | undefined;
      if (row) found.set(`${k.level}/${k.index}`, row.hash);
    }
  }

  protected async nodeRange(level: number, lo: number, hi: number): Promise<Array<{ idx: number; hash: Uint8Array }>> {
    this.preparedNodeRange ??= this.sqlite.prepare('SELECT idx, hash FROM ledger_nodes WHERE level = ? AND idx BETWEEN ? AND ?');
    return this.preparedNodeRange.all(level, lo, hi) as Array<{ idx: number; hash: Buffer }>;
  }

  protected async entryPage(from: number, to: number, limit: number): Promise<StoredEntry[]> {
    // Rows come back already shaped as StoredEntry, so a million-entry verification allocates
    // nothing per entry but the bytes.
    this.preparedEntryPage ??= this.sqlite.prepare('SELECT idx AS "index", entry FROM ledger_entries WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ?');
    return this.preparedEntryPage.all(from, to, limit) as StoredEntry[];
  }
}

/**
 * PostgreSQL: any number of processes append through the pool. One at a time holds the
 * sequencer, a transaction-scoped advisory lock per schema, as tessera's MySQL storage holds
 * its tree-state row; it goes with the transaction (commit, rollback, or the connection dying
 * with its process).
 */
export class PostgresLedgerStorage extends SqlLedgerStorage {
  async appendBatch(start: number, entries: Uint8Array[], nodes: StoredNode[]): Promise<void> {
    await this.appendSequenced(entries, async (size) => {
      if (size !== start) throw new ConflictError(`ledger append at ${start} but the log holds ${size} entries`);
      return nodes;
    });
  }

  /**
   * Under the sequencer, the size read is the size written at: `place` computes the batch's
   * nodes for it (re-reading the tree if another process appended since), so a batch never
   * conflicts with another writer and never retries.
   */
  async appendSequenced(entries: Uint8Array[], place: (size: number) => Promise<StoredNode[]>): Promise<number> {
    let start = 0;
    try {
      await this.db.transaction().execute(async (tx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ${LEDGER_SEQUENCER}))`.execute(tx);
        start = await sizeIn(tx);
        const nodes = await place(start);
        await insertChunked(tx, 'ledger_entries', entries.map((entry, i) => ({ idx: start + i, entry })));
        await insertChunked(tx, 'ledger_nodes', nodes.map((n) => ({ level: n.level, idx: n.index, hash: n.hash })));
      });
    } catch (err) {
      // Only a writer that does not take the sequencer (an older version) can race us here.
      if ((err as { code?: string }).code === '23505') throw new ConflictError('another writer appended at the same index first');
      throw err;
    }
    this.onAppended?.(start + entries.length);
    return start;
  }

  protected async lookupSparse(keys: NodeKey[], found: Map<string, Uint8Array>): Promise<void> {
    const rows = await this.db
      .selectFrom('ledger_nodes')
      .select(['level', 'idx', 'hash'])
      .where((eb) => eb(eb.refTuple('level', 'idx'), 'in', keys.map((k) => eb.tuple(k.level, k.index))))
      .execute();
    for (const r of rows) found.set(`${r.level}/${Number(r.idx)}`, r.hash);
  }

  protected nodeRange(level: number, lo: number, hi: number): Promise<Array<{ idx: number; hash: Uint8Array }>> {
    return this.db
      .selectFrom('ledger_nodes')
      .select(['idx', 'hash'])
      .where('level', '=', level)
      .where('idx', '>=', lo)
      .where('idx', '<=', hi)
      .execute();
  }

  protected async entryPage(from: number, to: number, limit: number): Promise<StoredEntry[]> {
    const rows = await this.db
      .selectFrom('ledger_entries')
      .select(['idx', 'entry'])
      .where('idx', '>=', from)
      .where('idx', '<', to)
      .orderBy('idx')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ index: Number(r.idx), entry: r.entry }));
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
