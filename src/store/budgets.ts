/**
 * Budgets (reveals, searches) counted in the store, so every API process and CLI command on
 * one store shares one budget. A use is reserved atomically: counted and inserted under one
 * lock, so concurrent requests in any number of processes never overshoot. A use whose act
 * then fails (its record could not be written) is released.
 *
 * Uses are counted per actor and minute: the hour is the last 60 minutes, the day the last
 * 1,440, each to the minute. A reservation reads at most a day's minutes of one actor, whatever
 * the budget's size, and minutes older than a day are pruned as they age out, so the table is
 * bounded by employees × minutes in a day, not by events.
 */
import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
const MINUTE_MS = 60_000;
const HOUR_MINUTES = 60;
const DAY_MINUTES = 1_440;

const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS);

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

/** One reservation waiting for its batch. */
interface PendingReservation {
  actor: string;
  kind: BudgetKind;
  limits: BudgetLimits;
  minute: number;
  settle: (granted: boolean | Error) => void;
}

/**
 * SQLite: uses live in a file of their own beside the ledger's (custos-budgets.db), written
 * from the request thread. In the ledger's file each reservation would queue behind the writer
 * thread's batch commits (an fsync each) and block the event loop meanwhile; here a
 * reservation waits only for other reservations.
 *
 * Reservations are group-committed: those asked for in one turn of the event loop are decided in
 * one IMMEDIATE transaction, in the order they were asked, each actor's minute counted once.
 * A transaction costs some 30 µs whatever it holds, so under load a reveal pays a fraction of it.
 */
export class SqliteBudgetCounter implements BudgetCounter {
  private readonly db: BetterSqlite3.Database;
  private readonly reserveBatch: (batch: readonly PendingReservation[]) => boolean[];
  private readonly count: BetterSqlite3.Statement;
  private readonly add: BetterSqlite3.Statement;
  private readonly giveBack: BetterSqlite3.Statement;
  private pending: PendingReservation[] = [];

  constructor(file: string) {
    this.db = new BetterSqlite3(file);
    this.db.pragma('journal_mode = WAL');
    // A use lost to power failure costs one extra reveal at most; the reveal's own record is FULL.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS budget_counts (
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        minute INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (actor, kind, minute)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS budget_seeded (kind TEXT PRIMARY KEY);
    `);
    const prune = this.db.prepare('DELETE FROM budget_counts WHERE actor = ? AND kind = ? AND minute <= ?');
    this.count = this.db.prepare('SELECT coalesce(sum(n), 0) AS day, coalesce(sum(CASE WHEN minute > ? THEN n ELSE 0 END), 0) AS hour FROM budget_counts WHERE actor = ? AND kind = ? AND minute > ?');
    this.add = this.db.prepare('INSERT INTO budget_counts (actor, kind, minute, n) VALUES (?, ?, ?, ?) ON CONFLICT (actor, kind, minute) DO UPDATE SET n = n + excluded.n');
    this.giveBack = this.db.prepare('UPDATE budget_counts SET n = n - 1 WHERE actor = ? AND kind = ? AND minute = ? AND n > 0');
    const decideBatch = this.db.transaction((batch: readonly PendingReservation[]): boolean[] => {
      // Per actor, kind and minute: the uses counted so far, and those this batch adds.
      const tallies = new Map<string, { r: PendingReservation; used: BudgetUsage; added: number }>();
      const granted = batch.map((r) => {
        const key = `${r.actor}\0${r.kind}\0${r.minute}`;
        let tally = tallies.get(key);
        if (!tally) {
          prune.run(r.actor, r.kind, r.minute - DAY_MINUTES);
          tally = { r, used: this.countAt(r.actor, r.kind, r.minute), added: 0 };
          tallies.set(key, tally);
        }
        const { used } = tally;
        if (used.lastDay >= r.limits.perDay || used.lastHour >= r.limits.perHour) return false;
        used.lastDay++;
        used.lastHour++;
        tally.added++;
        return true;
      });
      for (const { r, added } of tallies.values()) if (added > 0) this.add.run(r.actor, r.kind, r.minute, added);
      return granted;
    });
    // IMMEDIATE: the write lock is taken before counting, so two processes cannot both count
    // the last free use.
    this.reserveBatch = (batch) => decideBatch.immediate(batch);
  }

  private countAt(actor: string, kind: string, minute: number): BudgetUsage {
    const used = this.count.get(minute - HOUR_MINUTES, actor, kind, minute - DAY_MINUTES) as { day: number; hour: number };
    return { lastHour: used.hour, lastDay: used.day };
  }

  async tryReserve(actor: string, kind: BudgetKind, limits: BudgetLimits, nowMs: number): Promise<BudgetReservation | undefined> {
    if (limits.perDay <= 0 || limits.perHour <= 0) return undefined;
    const minute = minuteOf(nowMs);
    const granted = await new Promise<boolean | Error>((settle) => {
      // setImmediate, not a microtask: every request that reaches its reservation in this turn
      // of the event loop joins the batch.
      if (this.pending.push({ actor, kind, limits, minute, settle }) === 1) setImmediate(() => this.flush());
    });
    if (granted instanceof Error) throw granted;
    if (!granted) return undefined;
    return { release: async () => void this.giveBack.run(actor, kind, minute) };
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let granted: boolean[];
    try {
      granted = this.reserveBatch(batch);
    } catch (err) {
      for (const r of batch) r.settle(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    batch.forEach((r, i) => r.settle(granted[i]!));
  }

  async usage(actor: string, kind: BudgetKind, nowMs: number): Promise<BudgetUsage> {
    return this.countAt(actor, kind, minuteOf(nowMs));
  }

  async seedOnce(kind: BudgetKind, load: () => Promise<Array<{ actor: string; timeMs: number }>>): Promise<void> {
    if (this.db.prepare('SELECT 1 FROM budget_seeded WHERE kind = ?').get(kind)) return;
    const uses = await load();
    const mark = this.db.prepare('INSERT OR IGNORE INTO budget_seeded (kind) VALUES (?)');
    this.db.transaction(() => {
      // Another process may have seeded meanwhile: only the first to commit the mark inserts.
      if (mark.run(kind).changes === 0) return;
      for (const u of uses) this.add.run(u.actor, kind, minuteOf(u.timeMs), 1);
    }).immediate();
  }

  async close(): Promise<void> {
    // Reservations already asked for are decided before the file closes.
    if (this.pending.length > 0) this.flush();
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
    const minute = minuteOf(nowMs);
    const reserved = await this.db.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':custos-budget:' || ${kind} || ':' || ${actor}))`.execute(tx);
      await tx.deleteFrom('budget_counts').where('actor', '=', actor).where('kind', '=', kind).where('minute', '<=', minute - DAY_MINUTES).execute();
      const used = await countUses(tx, actor, kind, minute);
      if (used.lastDay >= limits.perDay || used.lastHour >= limits.perHour) return false;
      await addUse(tx, actor, kind, minute);
      return true;
    });
    if (!reserved) return undefined;
    return {
      release: async () =>
        void (await this.db.updateTable('budget_counts').set((eb) => ({ n: eb('n', '-', 1) })).where('actor', '=', actor).where('kind', '=', kind).where('minute', '=', minute).where('n', '>', 0).execute()),
    };
  }

  usage(actor: string, kind: BudgetKind, nowMs: number): Promise<BudgetUsage> {
    return countUses(this.db, actor, kind, minuteOf(nowMs));
  }

  async seedOnce(kind: BudgetKind, load: () => Promise<Array<{ actor: string; timeMs: number }>>): Promise<void> {
    const seeded = await this.db.selectFrom('budget_seeded').select('kind').where('kind', '=', kind).executeTakeFirst();
    if (seeded) return;
    const uses = await load();
    await this.db.transaction().execute(async (tx) => {
      const marked = await tx.insertInto('budget_seeded').values({ kind }).onConflict((oc) => oc.column('kind').doNothing()).executeTakeFirst();
      // Another process seeded first.
      if (Number(marked.numInsertedOrUpdatedRows ?? 0) === 0) return;
      const perMinute = new Map<string, { actor: string; minute: number; n: number }>();
      for (const u of uses) {
        const minute = minuteOf(u.timeMs);
        const key = `${u.actor}\0${minute}`;
        const row = perMinute.get(key) ?? { actor: u.actor, minute, n: 0 };
        row.n++;
        perMinute.set(key, row);
      }
      const rows = [...perMinute.values()].map((r) => ({ actor: r.actor, kind, minute: r.minute, n: r.n }));
      for (let i = 0; i < rows.length; i += 1000) await tx.insertInto('budget_counts').values(rows.slice(i, i + 1000)).execute();
    });
  }

  async close(): Promise<void> {}
}

async function addUse(db: Kysely<Database>, actor: string, kind: string, minute: number): Promise<void> {
  await db
    .insertInto('budget_counts')
    .values({ actor, kind, minute, n: 1 })
    .onConflict((oc) => oc.columns(['actor', 'kind', 'minute']).doUpdateSet((eb) => ({ n: eb('budget_counts.n', '+', 1) })))
    .execute();
}

async function countUses(db: Kysely<Database>, actor: string, kind: string, minute: number): Promise<BudgetUsage> {
  const row = await db
    .selectFrom('budget_counts')
    .select([
      sql<number>`coalesce(sum(n), 0)::int`.as('day'),
      sql<number>`coalesce(sum(n) FILTER (WHERE minute > ${minute - HOUR_MINUTES}), 0)::int`.as('hour'),
    ])
    .where('actor', '=', actor)
    .where('kind', '=', kind)
    .where('minute', '>', minute - DAY_MINUTES)
    .executeTakeFirstOrThrow();
  return { lastHour: row.hour, lastDay: row.day };
}
