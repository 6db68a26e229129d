/**
 * The ledger's storage (src/ledger/storage.ts) in SQL. Each batch is one transaction that
 * writes the entries, the Merkle nodes they complete and the access-event query index
 * (a projection of the entries), so the index can never disagree with the log.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely, type Transaction } from 'kysely';
import { ConflictError, IntegrityError } from '../errors.ts';
import type { LedgerStorage, NodeKey, StoredCheckpoint, StoredEntry, StoredNode } from '../ledger/storage.ts';
import type { AccessEvent } from '../model.ts';
import type { AccessEventsTable, AccessEventCustomersTable, Database } from './schema.ts';
import type { StoreDialect } from './store.ts';

const READ_PAGE = 10_000;
// Bound parameters per multi-row INSERT stay far below both dialects' limits.
const INSERT_CHUNK = 1_000;

export class SqlLedgerStorage implements LedgerStorage {
  private preparedNodeLookup: BetterSqlite3.Statement | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect,
    private readonly sqlite: BetterSqlite3.Database | undefined,
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
    await this.db.transaction().execute(async (tx) => {
      const current = await sizeIn(tx);
      if (current !== start) throw new ConflictError(`ledger append at ${start} but the log holds ${current} entries`);
      const entryRows = entries.map((entry, i) => ({ idx: start + i, entry }));
      const nodeRows = nodes.map((n) => ({ level: n.level, idx: n.index, hash: n.hash }));
      const { events, links } = indexRows(start, entries);
      await insertChunked(tx, 'ledger_entries', entryRows);
      await insertChunked(tx, 'ledger_nodes', nodeRows);
      await insertChunked(tx, 'access_events', events);
      await insertChunked(tx, 'access_event_customers', links);
    });
  }

  async getNodes(keys: NodeKey[]): Promise<Uint8Array[]> {
    if (keys.length === 0) return [];
    const lookup = this.nodeLookup;
    if (lookup) {
      return keys.map((k) => {
        const row = lookup.get(k.level, k.index) as { hash: Buffer } | undefined;
        if (!row) throw missingNode(k);
        return row.hash;
      });
    }
    const rows = await this.db
      .selectFrom('ledger_nodes')
      .select(['level', 'idx', 'hash'])
      .where((eb) => eb(eb.refTuple('level', 'idx'), 'in', keys.map((k) => eb.tuple(k.level, k.index))))
      .execute();
    const byKey = new Map(rows.map((r) => [`${r.level}/${Number(r.idx)}`, r.hash]));
    return keys.map((k) => {
      const hash = byKey.get(`${k.level}/${k.index}`);
      if (!hash) throw missingNode(k);
      return hash;
    });
  }

  async *readEntries(from: number, to: number): AsyncIterable<StoredEntry> {
    let next = from;
    while (next < to) {
      const rows = await this.db
        .selectFrom('ledger_entries')
        .select(['idx', 'entry'])
        .where('idx', '>=', next)
        .where('idx', '<', to)
        .orderBy('idx')
        .limit(READ_PAGE)
        .execute();
      if (rows.length === 0) return;
      for (const r of rows) yield { index: Number(r.idx), entry: r.entry };
      next = Number(rows[rows.length - 1]!.idx) + 1;
    }
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

async function insertChunked<T extends keyof Database>(
  tx: Transaction<Database>,
  table: T,
  rows: Database[T][],
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    // kysely cannot type a table chosen at run time; the rows are typed by the caller.
    await tx.insertInto(table).values(rows.slice(i, i + INSERT_CHUNK) as never).execute();
  }
}

/** Project access-event entries into the query index; entries that are not events are not indexed. */
function indexRows(start: number, entries: Uint8Array[]): { events: AccessEventsTable[]; links: AccessEventCustomersTable[] } {
  const events: AccessEventsTable[] = [];
  const links: AccessEventCustomersTable[] = [];
  entries.forEach((bytes, i) => {
    const e = decodeEvent(bytes);
    if (!e) return;
    const seq = start + i;
    events.push({
      seq,
      id: e.id,
      time: e.time,
      actor: e.actor,
      action: e.action,
      decision: e.decision,
      reason: e.reason ?? null,
      fields: JSON.stringify(e.fields),
      purpose_kind: e.purpose?.kind ?? null,
      purpose_ref: e.purpose?.ref ?? null,
      channel: e.channel ?? null,
      ip: e.ip ?? null,
      customer_count: e.customers.length,
    });
    for (const customer of new Set(e.customers)) links.push({ customer, seq, time: e.time, actor: e.actor });
  });
  return { events, links };
}

function decodeEvent(bytes: Uint8Array): AccessEvent | undefined {
  try {
    const v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as Partial<AccessEvent>;
    if (typeof v.id === 'string' && typeof v.actor === 'string' && typeof v.time === 'string' && Array.isArray(v.customers) && Array.isArray(v.fields)) {
      return v as AccessEvent;
    }
  } catch {
    /* not an event */
  }
  return undefined;
}
