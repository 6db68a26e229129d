/**
 * Budgets (reveals, searches) counted in the store, so every API process and CLI command on
 * one store shares one budget. A use is reserved atomically: counted and inserted under one
 * lock, so concurrent requests in any number of processes never overshoot. A use whose act
 * then fails (its record could not be written) is released.
 *
 * Uses are kept for a rolling day and pruned per actor as they age out, so the table is
 * bounded by employees × their daily budget, not by events.
 */
import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The acts a budget limits; each is counted apart. */
export const BUDGET_KINDS = ['reveal', 'search'] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

export interface BudgetLimits {
  perHour: number;
  perDay: number;
}

export interface BudgetUsage {
  lastHour: number;
  lastDay: number;
}

/** A reserved use; `release` gives it back (the act it was for did not happen). */
export interface BudgetReservation {
  release(): Promise<void>;
}

export interface BudgetCounter {
  /** Reserve one use at `nowMs`, or undefined when the hour's or the day's budget is spent. */
  tryReserve(actor: string, kind: BudgetKind, limits: BudgetLimits, nowMs: number): Promise<BudgetReservation | undefined>;
  usage(actor: string, kind: BudgetKind, nowMs: number): Promise<BudgetUsage>;
  /**
   * Load past uses once per kind, for a store whose counter starts empty (a fresh budgets file,
   * an upgrade): `load` reads them from the access events. Later calls do nothing.
   */
  seedOnce(kind: BudgetKind, load: () => Promise<Array<{ actor: string; timeMs: number }>>): Promise<void>;
  close(): Promise<void>;
}

/**
 * SQLite: uses live in a file of their own beside the ledger's (custos-budgets.db), written
 * from the request thread. In the ledger's file each reservation would queue behind the writer
 * thread's batch commits (an fsync each) and block the event loop meanwhile; here a
 * reservation waits only for other reservations, which take microseconds.
 */
export class SqliteBudgetCounter implements BudgetCounter {
  private readonly db: BetterSqlite3.Database;
  private readonly reserve: (actor: string, kind: string, limits: BudgetLimits, nowMs: number) => number | undefined;
  private readonly count: BetterSqlite3.Statement;
  private readonly remove: BetterSqlite3.Statement;

  constructor(file: string) {
    this.db = new BetterSqlite3(file);
    this.db.pragma('journal_mode = WAL');
    // A use lost to power failure costs one extra reveal at most; the reveal's own record is FULL.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS budget_uses (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        at_ms INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS budget_uses_actor ON budget_uses (actor, kind, at_ms);
      CREATE TABLE IF NOT EXISTS budget_seeded (kind TEXT PRIMARY KEY);
    `);
    const prune = this.db.prepare('DELETE FROM budget_uses WHERE actor = ? AND kind = ? AND at_ms <= ?');
    this.count = this.db.prepare('SELECT count(*) AS day, coalesce(sum(at_ms >= ?), 0) AS hour FROM budget_uses WHERE actor = ? AND kind = ? AND at_ms > ?');
    const insert = this.db.prepare('INSERT INTO budget_uses (actor, kind, at_ms) VALUES (?, ?, ?)');
    this.remove = this.db.prepare('DELETE FROM budget_uses WHERE id = ?');
    const reserveTx = this.db.transaction((actor: string, kind: string, limits: BudgetLimits, nowMs: number): number | undefined => {
      prune.run(actor, kind, nowMs - DAY_MS);
      const used = this.count.get(nowMs - HOUR_MS, actor, kind, nowMs - DAY_MS) as { day: number; hour: number };
      if (used.day >= limits.perDay || used.hour >= limits.perHour) return undefined;
      return Number(insert.run(actor, kind, nowMs).lastInsertRowid);
    });
    // IMMEDIATE: the write lock is taken before counting, so two processes cannot both count
    // the last free use.
    this.reserve = (actor, kind, limits, nowMs) => reserveTx.immediate(actor, kind, limits, nowMs);
  }

  async tryReserve(actor: string, kind: BudgetKind, limits: BudgetLimits, nowMs: number): Promise<BudgetReservation | undefined> {
    if (limits.perDay <= 0 || limits.perHour <= 0) return undefined;
    const id = this.reserve(actor, kind, limits, nowMs);
    if (id === undefined) return undefined;
    return { release: async () => void this.remove.run(id) };
  }

  async usage(actor: string, kind: BudgetKind, nowMs: number): Promise<BudgetUsage> {
    const used = this.count.get(nowMs - HOUR_MS, actor, kind, nowMs - DAY_MS) as { day: number; hour: number };
    return { lastHour: used.hour, lastDay: used.day };
  }

  async seedOnce(kind: BudgetKind, load: () => Promise<Array<{ actor: string; timeMs: number }>>): Promise<void> {
    if (this.db.prepare('SELECT 1 FROM budget_seeded WHERE kind = ?').get(kind)) return;
    const uses = await load();
    const insert = this.db.prepare('INSERT INTO budget_uses (actor, kind, at_ms) VALUES (?, ?, ?)');
    const mark = this.db.prepare('INSERT OR IGNORE INTO budget_seeded (kind) VALUES (?)');
    this.db.transaction(() => {
      // Another process may have seeded meanwhile: only the first to commit the mark inserts.
      if (mark.run(kind).changes === 0) return;
      for (const u of uses) insert.run(u.actor, kind, u.timeMs);
    }).immediate();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * PostgreSQL: uses live in the store's schema. A reservation takes a transaction-scoped
 * advisory lock on (actor, kind) before counting, so reservations of one actor take turns
 * across every process while other actors' go on in parallel.
 */
export class PostgresBudgetCounter implements BudgetCounter {
  constructor(private readonly db: Kysely<Database>) {}

  async tryReserve(actor: string, kind: BudgetKind, limits: BudgetLimits, nowMs: number): Promise<BudgetReservation | undefined> {
    if (limits.perDay <= 0 || limits.perHour <= 0) return undefined;
    const id = await this.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':custos-budget:' || ${kind} || ':' || ${actor}))`.execute(tx);
      await tx.deleteFrom('budget_uses').where('actor', '=', actor).where('kind', '=', kind).where('at_ms', '<=', nowMs - DAY_MS).execute();
      const used = await countUses(tx, actor, kind, nowMs);
      if (used.lastDay >= limits.perDay || used.lastHour >= limits.perHour) return undefined;
      const row = await tx.insertInto('budget_uses').values({ actor, kind, at_ms: nowMs }).returning('id').executeTakeFirstOrThrow();
      return Number(row.id);
    });
    if (id === undefined) return undefined;
    return { release: async () => void (await this.db.deleteFrom('budget_uses').where('id', '=', id).execute()) };
  }

  usage(actor: string, kind: BudgetKind, nowMs: number): Promise<BudgetUsage> {
    return countUses(this.db, actor, kind, nowMs);
  }

  async seedOnce(kind: BudgetKind, load: () => Promise<Array<{ actor: string; timeMs: number }>>): Promise<void> {
    const seeded = await this.db.selectFrom('budget_seeded').select('kind').where('kind', '=', kind).executeTakeFirst();
    if (seeded) return;
    const uses = await load();
    await this.db.transaction().execute(async (tx) => {
      const marked = await tx.insertInto('budget_seeded').values({ kind }).onConflict((oc) => oc.column('kind').doNothing()).executeTakeFirst();
      // Another process seeded first.
      if (Number(marked.numInsertedOrUpdatedRows ?? 0) === 0) return;
      for (let i = 0; i < uses.length; i += 1000) {
        await tx.insertInto('budget_uses').values(uses.slice(i, i + 1000).map((u) => ({ actor: u.actor, kind, at_ms: u.timeMs }))).execute();
      }
    });
  }

  async close(): Promise<void> {}
}

async function countUses(db: Kysely<Database>, actor: string, kind: string, nowMs: number): Promise<BudgetUsage> {
  const row = await db
    .selectFrom('budget_uses')
    .select([
      sql<number>`count(*)::int`.as('day'),
      sql<number>`count(*) FILTER (WHERE at_ms >= ${nowMs - HOUR_MS})::int`.as('hour'),
    ])
    .where('actor', '=', actor)
    .where('kind', '=', kind)
    .where('at_ms', '>', nowMs - DAY_MS)
    .executeTakeFirstOrThrow();
  return { lastHour: row.hour, lastDay: row.day };
}
