/**
 * The durable outbox of customer notices: one row per (incident, customer). A sender takes a
 * row (state `sending`, leased to it until `due_ms`) before it talks to the SMTP server and
 * marks it `sent` after the server's 250, so a sender killed at any instant leaves only the
 * rows it had in flight to be taken again, once their lease ends, with the same Message-ID.
 */
import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { Database, NoticeOutboxTable } from './schema.ts';

export const NOTICE_STATES = ['queued', 'sending', 'sent', 'failed', 'bounced'] as const;
export type NoticeState = (typeof NOTICE_STATES)[number];

export interface QueuedNotice {
  incident: string;
  customer: string;
  messageId: string;
  locale: string;
  entity: string;
  /** The rendered notice, opaque to the store. */
  content: Uint8Array;
}

/** A row taken by a sender: it is the sender's until `leaseUntilMs`. */
export interface ClaimedNotice {
  incident: string;
  customer: string;
  messageId: string;
  content: Uint8Array;
  /** Attempts so far, this one included. */
  attempts: number;
}

export interface OutboxEntry {
  incident: string;
  customer: string;
  messageId: string;
  locale: string;
  entity: string;
  state: NoticeState;
  attempts: number;
  /** When it may next be taken; null once sent or given up. */
  dueMs: number | null;
  lastError: string | null;
  queuedAt: string;
  sentAt: string | null;
}

export interface ListOptions {
  after?: string;
  limit: number;
  states?: readonly NoticeState[];
}

/** Per state: how many rows, and how many of them will still be tried (due_ms set). */
export type OutboxCounts = Record<NoticeState, { total: number; pending: number }> & {
  /** The earliest time a row may next be taken, if any will be. */
  nextDueMs: number | null;
};

export interface NoticeOutbox {
  /** Queue notices; a (incident, customer) already in the outbox is left as it is. Returns how many were added. */
  enqueue(notices: QueuedNotice[], nowMs: number): Promise<number>;
  /**
   * Take up to `limit` rows of `incident` that are due at `nowMs`, leased to `owner` for
   * `leaseMs`. Never a row whose lease `owner` itself holds, even past its end: that message is
   * still in this sender's hands.
   */
  claim(incident: string, owner: string, limit: number, nowMs: number, leaseMs: number): Promise<ClaimedNotice[]>;
  /** The server accepted these: sent, for good. Only rows still leased to `owner` change. */
  markSent(incident: string, customers: string[], owner: string, nowMs: number): Promise<number>;
  /** A failed attempt: `failed` (4xx, no connection) or `bounced` (5xx), retried at `retryAtMs` or given up (null). */
  markFailed(incident: string, customer: string, owner: string, state: 'failed' | 'bounced', error: string, retryAtMs: number | null, nowMs: number): Promise<boolean>;
  /**
   * Give a taken row back untried (the sender could not even start it, e.g. it may not open the
   * address): due again at `nowMs`, its attempt not counted.
   */
  release(incident: string, customer: string, owner: string, nowMs: number): Promise<boolean>;
  /** The rows these Message-IDs name, whichever incidents they are of (bounce reports quote them). */
  byMessageIds(messageIds: readonly string[]): Promise<OutboxEntry[]>;
  /**
   * A bounce reported after the server accepted the message (a delivery status notification):
   * a `sent` or `failed` row becomes `bounced` with `error`, never tried again. False for a row
   * in another state (bounced already, queued, or in a sender's hands).
   */
  markBounced(incident: string, customer: string, error: string, nowMs: number): Promise<boolean>;
  counts(incident: string): Promise<OutboxCounts>;
  get(incident: string, customer: string): Promise<(OutboxEntry & { content: Uint8Array }) | undefined>;
  /** A page of the incident's rows by customer id; with `states`, only rows in one of them. */
  list(incident: string, opts: ListOptions): Promise<OutboxEntry[]>;
  close(): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const INSERT_CHUNK = 500;

function entryOf(r: Omit<NoticeOutboxTable, 'content' | 'lease_owner' | 'updated_at'>): OutboxEntry {
  return {
    incident: r.incident,
    customer: r.customer,
    messageId: r.message_id,
    locale: r.locale,
    entity: r.entity,
    state: r.state as NoticeState,
    attempts: Number(r.attempts),
    dueMs: r.due_ms === null ? null : Number(r.due_ms),
    lastError: r.last_error,
    queuedAt: r.queued_at,
    sentAt: r.sent_at,
  };
}

function countsOf(rows: Array<{ state: string; total: number | string; pending: number | string; next_due: number | string | null }>): OutboxCounts {
  const counts = Object.fromEntries(NOTICE_STATES.map((s) => [s, { total: 0, pending: 0 }])) as unknown as OutboxCounts;
  counts.nextDueMs = null;
  for (const r of rows) {
    counts[r.state as NoticeState] = { total: Number(r.total), pending: Number(r.pending) };
    if (r.next_due !== null && (counts.nextDueMs === null || Number(r.next_due) < counts.nextDueMs)) counts.nextDueMs = Number(r.next_due);
  }
  return counts;
}

function rowOf(n: QueuedNotice, nowMs: number): NoticeOutboxTable {
  return {
    incident: n.incident, customer: n.customer, message_id: n.messageId, locale: n.locale, entity: n.entity, content: n.content,
    state: 'queued', attempts: 0, due_ms: nowMs, lease_owner: null, last_error: null, queued_at: iso(nowMs), sent_at: null, updated_at: iso(nowMs),
  };
}

/** What a released row goes back to: queued if never tried, else failed (its last error kept). */
const RELEASED_STATE = `CASE WHEN attempts <= 1 THEN 'queued' ELSE 'failed' END`;

const ENTRY_COLUMNS = ['incident', 'customer', 'message_id', 'locale', 'entity', 'state', 'attempts', 'due_ms', 'last_error', 'queued_at', 'sent_at'] as const;

/**
 * SQLite: a file of its own beside the ledger's (custos-notices.db), as budgets have: in the
 * ledger's file every claim and sent mark would wait for the ledger writer thread's batch commits,
 * blocking the sender's event loop meanwhile. A claim is one IMMEDIATE transaction, so two
 * senders (processes) never take the same row. Commits are synchronous=NORMAL: in WAL mode they
 * survive a killed process (what exactly-once is about) without an fsync each; a power cut may
 * forget the last sent marks, and those notices go again, with the same Message-ID.
 */
export class SqliteNoticeOutbox implements NoticeOutbox {
  private statements: ReturnType<SqliteNoticeOutbox['prepare']> | undefined;
  private connection: BetterSqlite3.Database | undefined;

  constructor(private readonly file: string) {}

  // Opened on first use: a store that never notifies never creates the file.
  private prepare() {
    const db = new BetterSqlite3(this.file);
    this.connection = db;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS notice_outbox (
        incident TEXT NOT NULL, customer TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE, locale TEXT NOT NULL, entity TEXT NOT NULL,
        content BLOB NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due_ms INTEGER, lease_owner TEXT, last_error TEXT,
        queued_at TEXT NOT NULL, sent_at TEXT, updated_at TEXT NOT NULL,
        PRIMARY KEY (incident, customer)
      );
      CREATE INDEX IF NOT EXISTS notice_outbox_due ON notice_outbox (incident, due_ms);
    `);
    const insert = db.prepare(`INSERT INTO notice_outbox (incident, customer, message_id, locale, entity, content, state, attempts, due_ms, queued_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?) ON CONFLICT (incident, customer) DO NOTHING`);
    const due = db.prepare('SELECT customer FROM notice_outbox WHERE incident = ? AND due_ms <= ? AND lease_owner IS NOT ? ORDER BY due_ms, customer LIMIT ?');
    const take = db.prepare(`UPDATE notice_outbox SET state = 'sending', lease_owner = ?, due_ms = ?, attempts = attempts + 1, updated_at = ?
      WHERE incident = ? AND customer = ? RETURNING customer, message_id, content, attempts`);
    const sent = db.prepare(`UPDATE notice_outbox SET state = 'sent', due_ms = NULL, lease_owner = NULL, last_error = NULL, sent_at = ?, updated_at = ?
      WHERE incident = ? AND customer = ? AND state = 'sending' AND lease_owner = ?`);
    const failed = db.prepare(`UPDATE notice_outbox SET state = ?, due_ms = ?, lease_owner = NULL, last_error = ?, updated_at = ?
      WHERE incident = ? AND customer = ? AND state = 'sending' AND lease_owner = ?`);
    return {
      enqueue: db.transaction((rows: QueuedNotice[], nowMs: number) => {
        const at = iso(nowMs);
        return rows.reduce((n, r) => n + insert.run(r.incident, r.customer, r.messageId, r.locale, r.entity, r.content, nowMs, at, at).changes, 0);
      }),
      claim: db.transaction((incident: string, owner: string, limit: number, nowMs: number, leaseMs: number) =>
        (due.all(incident, nowMs, owner, limit) as Array<{ customer: string }>).map(({ customer }) => {
          const r = take.get(owner, nowMs + leaseMs, iso(nowMs), incident, customer) as { customer: string; message_id: string; content: Buffer; attempts: number };
          return { incident, customer: r.customer, messageId: r.message_id, content: r.content, attempts: r.attempts };
        }),
      ),
      markSent: db.transaction((incident: string, customers: string[], owner: string, nowMs: number) =>
        customers.reduce((n, c) => n + sent.run(iso(nowMs), iso(nowMs), incident, c, owner).changes, 0),
      ),
      failed,
      release: db.prepare(`UPDATE notice_outbox SET state = ${RELEASED_STATE}, attempts = attempts - 1, due_ms = ?, lease_owner = NULL, updated_at = ?
        WHERE incident = ? AND customer = ? AND state = 'sending' AND lease_owner = ?`),
      counts: db.prepare(`SELECT state, count(*) AS total, count(due_ms) AS pending, min(due_ms) AS next_due FROM notice_outbox WHERE incident = ? GROUP BY state`),
      get: db.prepare(`SELECT ${ENTRY_COLUMNS.join(', ')}, content FROM notice_outbox WHERE incident = ? AND customer = ?`),
      list: db.prepare(`SELECT ${ENTRY_COLUMNS.join(', ')} FROM notice_outbox WHERE incident = ? AND customer > ? ORDER BY customer LIMIT ?`),
      byMessageIds: db.prepare(`SELECT ${ENTRY_COLUMNS.join(', ')} FROM notice_outbox WHERE message_id IN (SELECT value FROM json_each(?))`),
      bounced: db.prepare(`UPDATE notice_outbox SET state = 'bounced', due_ms = NULL, last_error = ?, updated_at = ?
        WHERE incident = ? AND customer = ? AND state IN ('sent', 'failed')`),
      listIn: db.prepare(`SELECT ${ENTRY_COLUMNS.join(', ')} FROM notice_outbox WHERE incident = ? AND customer > ? AND state IN (SELECT value FROM json_each(?)) ORDER BY customer LIMIT ?`),
    };
  }

  private get s() {
    return (this.statements ??= this.prepare());
  }

  async enqueue(notices: QueuedNotice[], nowMs: number): Promise<number> {
    let added = 0;
    for (let i = 0; i < notices.length; i += INSERT_CHUNK) added += this.s.enqueue.immediate(notices.slice(i, i + INSERT_CHUNK), nowMs);
    return added;
  }

  async claim(incident: string, owner: string, limit: number, nowMs: number, leaseMs: number): Promise<ClaimedNotice[]> {
    return this.s.claim.immediate(incident, owner, limit, nowMs, leaseMs);
  }

  async markSent(incident: string, customers: string[], owner: string, nowMs: number): Promise<number> {
    return this.s.markSent.immediate(incident, customers, owner, nowMs);
  }

  async markFailed(incident: string, customer: string, owner: string, state: 'failed' | 'bounced', error: string, retryAtMs: number | null, nowMs: number): Promise<boolean> {
    return this.s.failed.run(state, retryAtMs, error, iso(nowMs), incident, customer, owner).changes > 0;
  }

  async release(incident: string, customer: string, owner: string, nowMs: number): Promise<boolean> {
    return this.s.release.run(nowMs, iso(nowMs), incident, customer, owner).changes > 0;
  }

  async counts(incident: string): Promise<OutboxCounts> {
    return countsOf(this.s.counts.all(incident) as Parameters<typeof countsOf>[0]);
  }

  async byMessageIds(messageIds: readonly string[]): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for (let i = 0; i < messageIds.length; i += INSERT_CHUNK) {
      out.push(...(this.s.byMessageIds.all(JSON.stringify(messageIds.slice(i, i + INSERT_CHUNK))) as NoticeOutboxTable[]).map(entryOf));
    }
    return out;
  }

  async markBounced(incident: string, customer: string, error: string, nowMs: number): Promise<boolean> {
    return this.s.bounced.run(error, iso(nowMs), incident, customer).changes > 0;
  }

  async get(incident: string, customer: string): Promise<(OutboxEntry & { content: Uint8Array }) | undefined> {
    const r = this.s.get.get(incident, customer) as NoticeOutboxTable | undefined;
    return r ? { ...entryOf(r), content: r.content } : undefined;
  }

  async close(): Promise<void> {
    this.connection?.close();
    this.connection = undefined;
    this.statements = undefined;
  }

  async list(incident: string, opts: ListOptions): Promise<OutboxEntry[]> {
    const rows = opts.states
      ? this.s.listIn.all(incident, opts.after ?? '', JSON.stringify(opts.states), opts.limit)
      : this.s.list.all(incident, opts.after ?? '', opts.limit);
    return (rows as NoticeOutboxTable[]).map(entryOf);
  }
}

/**
 * PostgreSQL: a claim takes due rows with FOR UPDATE SKIP LOCKED, so senders in any number of
 * processes share the work without waiting on each other or taking a row twice.
 */
export class PostgresNoticeOutbox implements NoticeOutbox {
  constructor(private readonly db: Kysely<Database>) {}

  async enqueue(notices: QueuedNotice[], nowMs: number): Promise<number> {
    let added = 0;
    for (let i = 0; i < notices.length; i += INSERT_CHUNK) {
      const res = await this.db
        .insertInto('notice_outbox')
        .values(notices.slice(i, i + INSERT_CHUNK).map((n) => rowOf(n, nowMs)))
        .onConflict((oc) => oc.columns(['incident', 'customer']).doNothing())
        .executeTakeFirst();
      added += Number(res.numInsertedOrUpdatedRows ?? 0);
    }
    return added;
  }

  async claim(incident: string, owner: string, limit: number, nowMs: number, leaseMs: number): Promise<ClaimedNotice[]> {
    // The CTE is evaluated once: its LIMIT bounds the rows updated (an IN subquery may be re-run).
    const { rows } = await sql<{ customer: string; message_id: string; content: Uint8Array; attempts: number }>`
      WITH due AS (
        SELECT customer FROM notice_outbox WHERE incident = ${incident} AND due_ms <= ${nowMs} AND lease_owner IS DISTINCT FROM ${owner}
        ORDER BY due_ms, customer LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      UPDATE notice_outbox AS o SET state = 'sending', lease_owner = ${owner}, due_ms = ${nowMs + leaseMs}, attempts = o.attempts + 1, updated_at = ${iso(nowMs)}
      FROM due WHERE o.incident = ${incident} AND o.customer = due.customer
      RETURNING o.customer, o.message_id, o.content, o.attempts`.execute(this.db);
    return rows.map((r) => ({ incident, customer: r.customer, messageId: r.message_id, content: r.content, attempts: Number(r.attempts) }));
  }

  async markSent(incident: string, customers: string[], owner: string, nowMs: number): Promise<number> {
    if (customers.length === 0) return 0;
    const res = await this.db
      .updateTable('notice_outbox')
      .set({ state: 'sent', due_ms: null, lease_owner: null, last_error: null, sent_at: iso(nowMs), updated_at: iso(nowMs) })
      .where('incident', '=', incident)
      .where('customer', 'in', customers)
      .where('state', '=', 'sending')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async markFailed(incident: string, customer: string, owner: string, state: 'failed' | 'bounced', error: string, retryAtMs: number | null, nowMs: number): Promise<boolean> {
    const res = await this.db
      .updateTable('notice_outbox')
      .set({ state, due_ms: retryAtMs, lease_owner: null, last_error: error, updated_at: iso(nowMs) })
      .where('incident', '=', incident)
      .where('customer', '=', customer)
      .where('state', '=', 'sending')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async release(incident: string, customer: string, owner: string, nowMs: number): Promise<boolean> {
    const res = await this.db
      .updateTable('notice_outbox')
      .set((eb) => ({ state: sql.raw<string>(RELEASED_STATE), attempts: eb('attempts', '-', 1), due_ms: nowMs, lease_owner: null, updated_at: iso(nowMs) }))
      .where('incident', '=', incident)
      .where('customer', '=', customer)
      .where('state', '=', 'sending')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async byMessageIds(messageIds: readonly string[]): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    for (let i = 0; i < messageIds.length; i += INSERT_CHUNK) {
      const rows = await this.db.selectFrom('notice_outbox').select([...ENTRY_COLUMNS]).where('message_id', 'in', messageIds.slice(i, i + INSERT_CHUNK)).execute();
      out.push(...rows.map(entryOf));
    }
    return out;
  }

  async markBounced(incident: string, customer: string, error: string, nowMs: number): Promise<boolean> {
    const res = await this.db
      .updateTable('notice_outbox')
      .set({ state: 'bounced', due_ms: null, last_error: error, updated_at: iso(nowMs) })
      .where('incident', '=', incident)
      .where('customer', '=', customer)
      .where('state', 'in', ['sent', 'failed'])
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async counts(incident: string): Promise<OutboxCounts> {
    const rows = await this.db
      .selectFrom('notice_outbox')
      .select((eb) => ['state', eb.fn.countAll<number>().as('total'), eb.fn.count<number>('due_ms').as('pending'), eb.fn.min('due_ms').as('next_due')])
      .where('incident', '=', incident)
      .groupBy('state')
      .execute();
    return countsOf(rows);
  }

  async get(incident: string, customer: string): Promise<(OutboxEntry & { content: Uint8Array }) | undefined> {
    const r = await this.db.selectFrom('notice_outbox').select([...ENTRY_COLUMNS, 'content']).where('incident', '=', incident).where('customer', '=', customer).executeTakeFirst();
    return r ? { ...entryOf(r), content: r.content } : undefined;
  }

  async list(incident: string, opts: ListOptions): Promise<OutboxEntry[]> {
    let q = this.db
      .selectFrom('notice_outbox')
      .select([...ENTRY_COLUMNS])
      .where('incident', '=', incident)
      .where('customer', '>', opts.after ?? '');
    if (opts.states) q = q.where('state', 'in', [...opts.states]);
    const rows = await q.orderBy('customer').limit(opts.limit).execute();
    return rows.map(entryOf);
  }

  async close(): Promise<void> {}
}
