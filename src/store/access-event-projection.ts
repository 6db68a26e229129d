/**
 * The access-event query index (by actor, by customer, by time) as a projection of the ledger.
 *
 * The ledger is the record; the index is derived from it and can always be rebuilt from it.
 * Written in the ledger's own transaction, the index cost more than the ledger itself: its
 * B-tree keys (actor, customer) land all over the file, so each small group-commit batch
 * dirties and rewrites hundreds of pages. Projected in larger batches a little later, the same
 * rows cost about half as much, and the ledger's commit (the reveal's critical path) carries no
 * index work at all.
 *
 * Correctness does not depend on the lag: the watermark (the next ledger index to project) is
 * stored in the same transaction as the rows it covers, and every read of the index first
 * catches up to the ledger's committed size, so a query never misses a committed event.
 * Another process catching up at the same time is harmless: each pass locks the watermark
 * first, and a duplicate row would fail the transaction rather than be indexed twice.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely, Transaction } from 'kysely';
import { ConflictError, IntegrityError } from '../errors.ts';
import type { AccessEvent } from '../model.ts';
import type { AccessEventCustomersTable, AccessEventFieldsTable, AccessEventsTable, Database } from './schema.ts';
import { customersColumn, EXPOSING_ACTIONS, FieldNames } from './exposures.ts';
import type { EventIndex, ProjectionOptions } from './event-index.ts';
import { insertChunked, type SqlLedgerStorage } from './ledger-storage.ts';

/** Lost races with another process in one pass before giving up (each loss means it advanced). */
const MAX_CONFLICTS = 100;

export class AccessEventProjection implements EventIndex {
  private readonly maxLag: number;
  private readonly maxDelayMs: number;
  private readonly chunk: number;
  private readonly onError: (err: unknown) => void;
  /** The pass in progress, if any; callers wanting a fresh pass chain after it. */
  private running: Promise<void> | undefined;
  private rerun = false;
  private timer: NodeJS.Timeout | undefined;
  /** Committed ledger size as last reported by appends in this process. */
  private knownSize = 0;
  /** Projected through (exclusive) as of this process's last pass. */
  private projected = 0;
  private closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    /** How index rows are written inside the projection's transaction: the dialect's way. */
    private readonly writeRows: IndexRowWriter,
    private readonly ledger: SqlLedgerStorage,
    options: ProjectionOptions = {},
  ) {
    this.maxLag = options.maxLag ?? 10_000;
    this.maxDelayMs = options.maxDelayMs ?? 200;
    this.chunk = options.chunk ?? 10_000;
    this.onError = options.onError ?? (() => {});
  }

  /** In process, on the store's own connection: nothing to start. */
  async ready(): Promise<void> {}

  /** The ledger committed entries up to `size`: project them soon, in bulk. */
  noteAppended(size: number): void {
    if (this.closed) return;
    this.knownSize = Math.max(this.knownSize, size);
    if (this.knownSize - this.projected >= this.maxLag) {
      this.clearTimer();
      void this.catchUp().catch(this.onError);
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.catchUp().catch(this.onError);
      }, this.maxDelayMs);
      this.timer.unref();
    }
  }

  /** Project every entry the ledger has committed by now. Resolves when the index holds them all. */
  catchUp(): Promise<void> {
    if (this.running) {
      // A pass is under way but may have read the ledger's size before our caller's entries
      // committed: run one more after it.
      this.rerun = true;
      return this.running;
    }
    const pass = (async () => {
      try {
        do {
          this.rerun = false;
          await this.projectToEnd();
        } while (this.rerun);
      } finally {
        this.running = undefined;
      }
    })();
    this.running = pass;
    return pass;
  }

  async indexedThrough(): Promise<number> {
    const row = await this.db.selectFrom('access_event_projection').select('next_seq').where('id', '=', 1).executeTakeFirst();
    return row ? Number(row.next_seq) : 0;
  }

  async rebuild(): Promise<void> {
    // After any pass under way, so it cannot write rows behind the reset.
    await this.running?.catch(() => {});
    await this.db.transaction().execute(async (tx) => {
      await lockWatermark(tx);
      await tx.deleteFrom('access_event_customers').execute();
      await tx.deleteFrom('access_events').execute();
      await tx.deleteFrom('access_event_fields').execute();
      await tx.updateTable('access_event_projection').set({ next_seq: 0 }).where('id', '=', 1).execute();
    });
    this.projected = 0;
    await this.catchUp();
  }

  /** Stop scheduling and project what is left; a failure is reported, not thrown (the next start catches up). */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.catchUp().catch(this.onError);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async projectToEnd(): Promise<void> {
    const target = await this.ledger.size();
    this.knownSize = Math.max(this.knownSize, target);
    let conflicts = 0;
    for (;;) {
      let through: number;
      try {
        through = await this.projectChunk(target);
      } catch (err) {
        // Another process projected the same entries first: its rows are as good as ours.
        if (!isConflict(err) || ++conflicts > MAX_CONFLICTS) throw err;
        continue;
      }
      this.projected = through;
      if (through >= target) return;
      // Let requests in between chunks: on SQLite a chunk holds the one connection.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** One transaction: entries [watermark, watermark + chunk) ∩ [.., target) → index rows. Returns the new watermark. */
  private async projectChunk(target: number): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const from = await lockWatermark(tx);
      if (from >= target) return from;
      const to = Math.min(target, from + this.chunk);
      const entries: Uint8Array[] = [];
      for await (const batch of this.ledger.readEntryBatches(from, to, this.chunk)) {
        for (const e of batch) entries.push(e.entry);
      }
      // Below the committed size every index is taken: a hole is an entry removed behind the ledger's back.
      if (entries.length !== to - from) throw new IntegrityError(`ledger entries ${from}..${to - 1} have a gap: ${to - from - entries.length} missing (run custos ledger verify)`);
      const names = new FieldNames(await tx.selectFrom('access_event_fields').select(['bit', 'name']).execute());
      const { events, links } = indexRows(from, entries, names);
      await this.writeRows(tx, events, links, names.added);
      await tx.updateTable('access_event_projection').set({ next_seq: to }).where('id', '=', 1).execute();
      return to;
    });
  }
}

/**
 * The watermark, read with a no-op write so the transaction holds the write lock (SQLite) or
 * the row lock (PostgreSQL) from its first statement: a second process catching up waits here
 * and then sees the advanced watermark, instead of racing to insert the same rows.
 */
async function lockWatermark(tx: Transaction<Database>): Promise<number> {
  const row = await tx
    .updateTable('access_event_projection')
    .set((eb) => ({ next_seq: eb.ref('next_seq') }))
    .where('id', '=', 1)
    .returning('next_seq')
    .executeTakeFirst();
  if (!row) throw new IntegrityError('the access-event index has no watermark row (access_event_projection)');
  return Number(row.next_seq);
}

function isConflict(err: unknown): boolean {
  if (err instanceof ConflictError) return true;
  const code = (err as { code?: string }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_BUSY_SNAPSHOT';
}

/** Writes a chunk's index rows, and the field names they are the first to use, inside the projection's transaction. */
export type IndexRowWriter = (tx: Transaction<Database>, events: AccessEventsTable[], links: AccessEventCustomersTable[], fields: AccessEventFieldsTable[]) => Promise<void>;

/** PostgreSQL: multi-row INSERTs through the transaction. */
export const insertIndexRows: IndexRowWriter = async (tx, events, links, fields) => {
  await insertChunked(tx, 'access_event_fields', fields);
  await insertChunked(tx, 'access_events', events);
  await insertChunked(tx, 'access_event_customers', links);
};

/**
 * SQLite: prepared single-row INSERTs on the connection kysely's transaction holds (its only
 * one), so the rows commit with it; cheaper than compiling multi-row statements.
 */
export function preparedIndexRowWriter(sqlite: BetterSqlite3.Database): IndexRowWriter {
  let event: BetterSqlite3.Statement | undefined;
  let link: BetterSqlite3.Statement | undefined;
  let field: BetterSqlite3.Statement | undefined;
  return async (_tx, events, links, fields) => {
    // Prepared lazily: the tables exist only once the index file is set up.
    event ??= sqlite.prepare('INSERT INTO access_events (seq, time_ms, actor, action, decision, customers, fields, fields_extra, purpose_kind, purpose_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    link ??= sqlite.prepare('INSERT INTO access_event_customers (customer, seq, time_ms, actor, exposed, exposed_extra, purpose_kind, purpose_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    field ??= sqlite.prepare('INSERT INTO access_event_fields (bit, name) VALUES (?, ?)');
    for (const r of fields) field.run(r.bit, r.name);
    for (const r of events) event.run(r.seq, r.time_ms, r.actor, r.action, r.decision, r.customers, r.fields, r.fields_extra, r.purpose_kind, r.purpose_ref);
    for (const r of links) link.run(r.customer, r.seq, r.time_ms, r.actor, r.exposed, r.exposed_extra, r.purpose_kind, r.purpose_ref);
  };
}

/**
 * Index rows for entries starting at ledger index `start`. Every entry must be an access event:
 * the index refuses to skip one, since a query that silently missed an entry would hide what the
 * ledger recorded. Such an entry stops projection with an IntegrityError naming it.
 */
function indexRows(start: number, entries: readonly Uint8Array[], names: FieldNames): { events: AccessEventsTable[]; links: AccessEventCustomersTable[] } {
  const events: AccessEventsTable[] = [];
  const links: AccessEventCustomersTable[] = [];
  entries.forEach((bytes, i) => {
    const seq = start + i;
    const e = indexableEvent(seq, bytes);
    const customers = [...new Set(e.customers)];
    const purpose = e.purpose as { kind?: unknown; ref?: unknown } | null | undefined;
    const row: AccessEventsTable = {
      seq,
      time_ms: Date.parse(e.time),
      actor: e.actor,
      action: e.action,
      decision: e.decision,
      customers: customersColumn(customers),
      ...names.columns(e.fields),
      purpose_kind: typeof purpose?.kind === 'string' ? purpose.kind : null,
      purpose_ref: typeof purpose?.ref === 'string' ? purpose.ref : null,
    };
    events.push(row);
    const exposes = row.decision === 'allow' && (EXPOSING_ACTIONS as readonly string[]).includes(row.action);
    const exposed = exposes ? row.fields : 0;
    const exposedExtra = exposes ? row.fields_extra : null;
    for (const customer of customers) {
      links.push({ customer, seq, time_ms: row.time_ms, actor: row.actor, exposed, exposed_extra: exposedExtra, purpose_kind: row.purpose_kind, purpose_ref: row.purpose_ref });
    }
  });
  return { events, links };
}

/** The entry as an event with every key the index stores (and queries decode), or an IntegrityError saying what is wrong. */
function indexableEvent(seq: number, bytes: Uint8Array): AccessEvent {
  const refuse = (why: string): never => {
    throw new IntegrityError(`access-event index: ledger entry ${seq} is not an access event: ${why} (run custos ledger verify)`, { index: seq });
  };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    refuse('it is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('it is not a JSON object');
  const o = value as Record<string, unknown>;
  for (const key of ['id', 'time', 'actor', 'action', 'decision']) if (typeof o[key] !== 'string') refuse(`"${key}" is not a string`);
  for (const key of ['customers', 'fields']) if (!Array.isArray(o[key])) refuse(`"${key}" is not a list`);
  if (!(o.customers as unknown[]).every((c) => typeof c === 'string')) refuse('"customers" holds something that is not an id');
  if (!(o.fields as unknown[]).every((f) => typeof f === 'string')) refuse('"fields" holds something that is not a name');
  if (!Number.isFinite(Date.parse(o.time as string))) refuse('"time" is not a date-time');
  return o as unknown as AccessEvent;
}
