import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { RowById } from './row-by-id.ts';
import type { CaseRecord } from '../model.ts';
import type { Database, CasesTable } from './schema.ts';

const UPSERT_CHUNK = 500;

export class CaseRepository {
  private readonly byId: RowById<'cases'>;

  constructor(
    private readonly db: Kysely<Database>,
    sqlite?: BetterSqlite3.Database,
  ) {
    this.byId = new RowById(db, sqlite, 'cases');
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
