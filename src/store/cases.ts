import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { rowById, type RowById } from './row-by-id.ts';
import type { CaseRecord } from '../model.ts';
import type { Database, CasesTable, CaseEventsTable } from './schema.ts';

const UPSERT_CHUNK = 500;

/** The acts a case's history holds. */
export const CASE_ACTS = ['open', 'reassign', 'close', 'reopen'] as const;
export type CaseAct = (typeof CASE_ACTS)[number];

/** One act in a case's life. */
export interface CaseEvent {
  at: string;
  operation: CaseAct;
  /** The assignee once the act was done. */
  employee: string;
  /** Who did it; absent for what an import carried. */
  actor?: string;
  /** Ledger index of the recorded decision that allowed it; absent for what an import carried. */
  seq?: number;
}

export interface CaseFilter {
  employee?: string;
  customer?: string;
  /** Open at `now` (isCaseOpen), or not. */
  open?: boolean;
  /** Keyset: ids after this one. */
  after?: string;
  limit: number;
}

export class CaseRepository {
  private readonly byId: RowById<'cases'>;

  constructor(
    private readonly db: Kysely<Database>,
    sqlite?: BetterSqlite3.Database,
  ) {
    this.byId = rowById(db, sqlite, 'cases');
  }

  async upsertMany(cases: CaseRecord[], now: Date): Promise<void> {
    if (cases.length === 0) return;
    const at = now.toISOString();
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < cases.length; i += UPSERT_CHUNK) {
        await tx
          .insertInto('cases')
          .values(cases.slice(i, i + UPSERT_CHUNK).map((c) => toRow(c, at)))
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              employee: eb.ref('excluded.employee'),
              customer: eb.ref('excluded.customer'),
              opened_at: eb.ref('excluded.opened_at'),
              closed_at: eb.ref('excluded.closed_at'),
              kind: eb.ref('excluded.kind'),
              extra: eb.ref('excluded.extra'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    });
  }

  async get(id: string): Promise<CaseRecord | undefined> {
    const row = await this.byId.get(id);
    return row ? fromRow(row) : undefined;
  }

  /**
   * Open a case: the record and the first act of its history, together. False when the id is
   * taken, and nothing is written.
   */
  async open(record: CaseRecord, event: CaseEvent, now: Date): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx.insertInto('cases').values(toRow(record, now.toISOString())).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await tx.insertInto('case_events').values(eventRow(record.id, 1, event)).execute();
      return true;
    });
  }

  /**
   * Change a case from `from` to `to` and, when `event` is given, add the act to its history,
   * in one transaction. The update applies only while the stored assignee and closing time are
   * still those of `from`: a concurrent change makes it return false (and write nothing), so no
   * act is recorded against a state that no longer holds. The row lock it takes also orders
   * concurrent acts on one case.
   */
  async transition(from: CaseRecord, to: CaseRecord, event: CaseEvent | undefined, now: Date): Promise<boolean> {
    if (from.id !== to.id) throw new Error(`case transition from "${from.id}" to "${to.id}"`);
    return this.db.transaction().execute(async (tx) => {
      const { id: _id, ...changes } = toRow(to, now.toISOString());
      const res = await tx
        .updateTable('cases')
        .set(changes)
        .where('id', '=', from.id)
        .where('employee', '=', from.employee)
        .where('closed_at', from.closedAt === undefined ? 'is' : '=', from.closedAt ?? null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      if (!event) return true;
      const last = await tx.selectFrom('case_events').select((eb) => eb.fn.max('n').as('n')).where('case_id', '=', from.id).executeTakeFirst();
      let n = Number(last?.n ?? 0);
      if (n === 0) {
        // Imported (or seeded) without a history: what the record carried comes first.
        const carried = importedHistory(from);
        await tx.insertInto('case_events').values(carried.map((e, i) => eventRow(from.id, i + 1, e))).execute();
        n = carried.length;
      }
      await tx.insertInto('case_events').values(eventRow(from.id, n + 1, event)).execute();
      return true;
    });
  }

  /** Every act of the case, oldest first. */
  async history(c: CaseRecord): Promise<CaseEvent[]> {
    const rows = await this.db.selectFrom('case_events').selectAll().where('case_id', '=', c.id).orderBy('n').execute();
    return rows.length > 0 ? rows.map(eventFromRow) : importedHistory(c);
  }

  /** Each existing case of `ids` with every act of its history, oldest first (one query per chunk, not per case). */
  async histories(ids: readonly string[]): Promise<Map<string, { record: CaseRecord; events: CaseEvent[] }>> {
    const found = new Map<string, { record: CaseRecord; events: CaseEvent[] }>();
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const chunk = ids.slice(i, i + LOOKUP_CHUNK);
      const [records, acts] = await Promise.all([
        this.db.selectFrom('cases').selectAll().where('id', 'in', chunk).execute(),
        this.db.selectFrom('case_events').selectAll().where('case_id', 'in', chunk).orderBy('case_id').orderBy('n').execute(),
      ]);
      const actsOf = new Map<string, CaseEvent[]>();
      for (const r of acts) {
        let list = actsOf.get(r.case_id);
        if (!list) actsOf.set(r.case_id, (list = []));
        list.push(eventFromRow(r));
      }
      for (const row of records) {
        const record = fromRow(row);
        found.set(record.id, { record, events: actsOf.get(record.id) ?? importedHistory(record) });
      }
    }
    return found;
  }

  /** A page of cases by id, optionally of one assignee or customer, open or not at `now`. */
  async list(filter: CaseFilter, now: Date): Promise<CaseRecord[]> {
    const at = now.toISOString();
    let q = this.db.selectFrom('cases').selectAll().orderBy('id').limit(filter.limit);
    if (filter.after !== undefined) q = q.where('id', '>', filter.after);
    if (filter.employee !== undefined) q = q.where('employee', '=', filter.employee);
    if (filter.customer !== undefined) q = q.where('customer', '=', filter.customer);
    if (filter.open === true) q = q.where('opened_at', '<=', at).where((eb) => eb.or([eb('closed_at', 'is', null), eb('closed_at', '>', at)]));
    if (filter.open === false) q = q.where((eb) => eb.or([eb('opened_at', '>', at), eb('closed_at', '<=', at)]));
    return (await q.execute()).map(fromRow);
  }

  async listForEmployee(employee: string, opts: { openOnly: boolean; limit: number }): Promise<CaseRecord[]> {
    let q = this.db.selectFrom('cases').selectAll().where('employee', '=', employee).orderBy('opened_at', 'desc').limit(opts.limit);
    if (opts.openOnly) q = q.where('closed_at', 'is', null);
    return (await q.execute()).map(fromRow);
  }

  async close(id: string, at: Date): Promise<boolean> {
    const res = await this.db
      .updateTable('cases')
      .set({ closed_at: at.toISOString(), updated_at: at.toISOString() })
      .where('id', '=', id)
      .where('closed_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('cases').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

// Well under SQLite's and PostgreSQL's bound-parameter limits.
const LOOKUP_CHUNK = 500;

/** What a case imported with no history of its own carries: its opening, and its closing if any. */
export function importedHistory(c: CaseRecord): CaseEvent[] {
  return [
    { at: c.openedAt, operation: 'open', employee: c.employee },
    ...(c.closedAt !== undefined ? [{ at: c.closedAt, operation: 'close' as const, employee: c.employee }] : []),
  ];
}

function eventRow(caseId: string, n: number, e: CaseEvent): CaseEventsTable {
  return { case_id: caseId, n, at: e.at, operation: e.operation, employee: e.employee, actor: e.actor ?? null, seq: e.seq ?? null };
}

function eventFromRow(r: CaseEventsTable): CaseEvent {
  return {
    at: r.at,
    operation: r.operation as CaseAct,
    employee: r.employee,
    ...(r.actor !== null ? { actor: r.actor } : {}),
    // PostgreSQL hands bigint back as text.
    ...(r.seq !== null ? { seq: Number(r.seq) } : {}),
  };
}

function toRow(c: CaseRecord, at: string): CasesTable {
  return {
    id: c.id,
    employee: c.employee,
    customer: c.customer,
    opened_at: c.openedAt,
    closed_at: c.closedAt ?? null,
    kind: c.kind,
    extra: c.extra ? JSON.stringify(c.extra) : null,
    updated_at: at,
  };
}

function fromRow(r: CasesTable): CaseRecord {
  return {
    id: r.id,
    employee: r.employee,
    customer: r.customer,
    openedAt: r.opened_at,
    ...(r.closed_at ? { closedAt: r.closed_at } : {}),
    kind: r.kind,
    ...(r.extra ? { extra: JSON.parse(r.extra) as Record<string, unknown> } : {}),
  };
}
