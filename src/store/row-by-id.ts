/**
 * One row by primary key. The reveal path makes three such lookups per request; on SQLite a
 * prepared statement serves them, since kysely compiles every query afresh and that cost more
 * than the lookup itself. Elsewhere, kysely.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

type KeyedTable = 'customers' | 'employees' | 'cases';

export class RowById<T extends KeyedTable> {
  private statement: BetterSqlite3.Statement | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly sqlite: BetterSqlite3.Database | undefined,
    private readonly table: T,
  ) {}

  async get(id: string): Promise<Database[T] | undefined> {
    if (this.sqlite) {
      // Prepared lazily: the table exists only once migrations ran.
      this.statement ??= this.sqlite.prepare(`SELECT * FROM ${this.table} WHERE id = ?`);
      return this.statement.get(id) as Database[T] | undefined;
    }
    // kysely cannot type a table chosen at run time; the row type is the table's.
    const row = await this.db.selectFrom(this.table as 'employees').selectAll().where('id', '=', id).executeTakeFirst();
    return row as Database[T] | undefined;
  }
}
