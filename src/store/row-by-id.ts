/**
 * One row by primary key. The reveal path makes three such lookups per request; on SQLite a
 * prepared statement serves them, since kysely compiles every query afresh and that cost more
 * than the lookup itself. Elsewhere, kysely.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

type KeyedTable = 'customers' | 'employees' | 'cases';

export interface RowById<T extends KeyedTable> {
  get(id: string): Promise<Database[T] | undefined>;
  /** Which of these ids exist (reference checks on import). */
  existingIds(ids: string[]): Promise<Set<string>>;
}

/** The dialect's row reader, chosen once: prepared statements on SQLite, kysely elsewhere. */
export function rowById<T extends KeyedTable>(db: Kysely<Database>, sqlite: BetterSqlite3.Database | undefined, table: T): RowById<T> {
  return sqlite ? new PreparedRowById(db, sqlite, table) : new KyselyRowById(db, table);
}

class KyselyRowById<T extends KeyedTable> implements RowById<T> {
  constructor(
    protected readonly db: Kysely<Database>,
    protected readonly table: T,
  ) {}

  async get(id: string): Promise<Database[T] | undefined> {
    // kysely cannot type a table chosen at run time; the row type is the table's.
    const row = await this.db.selectFrom(this.table as 'employees').selectAll().where('id', '=', id).executeTakeFirst();
    return row as Database[T] | undefined;
  }

  /** In chunks well under bound-parameter limits. */
  async existingIds(ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += EXISTS_CHUNK) {
      const rows = await this.db.selectFrom(this.table as 'employees').select('id').where('id', 'in', ids.slice(i, i + EXISTS_CHUNK)).execute();
      for (const r of rows) found.add(r.id);
    }
    return found;
  }
}

class PreparedRowById<T extends KeyedTable> extends KyselyRowById<T> {
  private statement: BetterSqlite3.Statement | undefined;

  constructor(
    db: Kysely<Database>,
    private readonly sqlite: BetterSqlite3.Database,
    table: T,
  ) {
    super(db, table);
  }

  override async get(id: string): Promise<Database[T] | undefined> {
    // Prepared lazily: the table exists only once migrations ran.
    this.statement ??= this.sqlite.prepare(`SELECT * FROM ${this.table} WHERE id = ?`);
    return this.statement.get(id) as Database[T] | undefined;
  }
}

const EXISTS_CHUNK = 500;
