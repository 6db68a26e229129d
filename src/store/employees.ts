import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { rowById, type RowById } from './row-by-id.ts';
import type { Employee, EmployeeStatus } from '../model.ts';
import type { Database, EmployeesTable } from './schema.ts';

const UPSERT_CHUNK = 500;

export class EmployeeRepository {
  private readonly byId: RowById<'employees'>;

  constructor(
    private readonly db: Kysely<Database>,
    sqlite?: BetterSqlite3.Database,
  ) {
    this.byId = rowById(db, sqlite, 'employees');
  }

  async upsertMany(employees: Employee[], now: Date): Promise<void> {
    if (employees.length === 0) return;
    const at = now.toISOString();
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < employees.length; i += UPSERT_CHUNK) {
        await tx
          .insertInto('employees')
          .values(employees.slice(i, i + UPSERT_CHUNK).map((e) => toRow(e, at)))
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              name: eb.ref('excluded.name'),
              team: eb.ref('excluded.team'),
              role: eb.ref('excluded.role'),
              location: eb.ref('excluded.location'),
              hired_at: eb.ref('excluded.hired_at'),
              left_at: eb.ref('excluded.left_at'),
              manager: eb.ref('excluded.manager'),
              status: eb.ref('excluded.status'),
              extra: eb.ref('excluded.extra'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    });
  }

  async get(id: string): Promise<Employee | undefined> {
    const row = await this.byId.get(id);
    return row ? fromRow(row) : undefined;
  }

  async list(opts: { after?: string; limit: number }): Promise<Employee[]> {
    let q = this.db.selectFrom('employees').selectAll().orderBy('id').limit(opts.limit);
    if (opts.after) q = q.where('id', '>', opts.after);
    return (await q.execute()).map(fromRow);
  }

  async setStatus(id: string, status: EmployeeStatus, now: Date): Promise<boolean> {
    const res = await this.db
      .updateTable('employees')
      .set({ status, updated_at: now.toISOString() })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Which of these ids exist (reference checks on import). */
  existingIds(ids: string[]): Promise<Set<string>> {
    return this.byId.existingIds(ids);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('employees').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

function toRow(e: Employee, at: string): EmployeesTable {
  return {
    id: e.id,
    name: e.name,
    team: e.team,
    role: e.role,
    location: e.location,
    hired_at: e.hiredAt,
    left_at: e.leftAt ?? null,
    manager: e.manager ?? null,
    status: e.status,
    extra: e.extra ? JSON.stringify(e.extra) : null,
    updated_at: at,
  };
}

function fromRow(r: EmployeesTable): Employee {
  return {
    id: r.id,
    name: r.name,
    team: r.team,
    role: r.role,
    location: r.location,
    hiredAt: r.hired_at,
    ...(r.left_at ? { leftAt: r.left_at } : {}),
    ...(r.manager ? { manager: r.manager } : {}),
    status: r.status as EmployeeStatus,
    ...(r.extra ? { extra: JSON.parse(r.extra) as Record<string, unknown> } : {}),
  };
}
