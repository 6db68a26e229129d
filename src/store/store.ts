/**
 * The one store interface. The dialect (embedded SQLite or PostgreSQL) is chosen here, once;
 * nothing outside src/store writes SQL or knows which database it runs on.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { ConfigError, UnavailableError } from '../errors.ts';
import { migrationsFor } from './migrations.ts';
import type { Database } from './schema.ts';
import { CustomerRepository } from './customers.ts';
import { KeyRingIdentityRepository } from './key-ring-identity.ts';
import { EmployeeRepository } from './employees.ts';
import { CaseRepository } from './cases.ts';
import { AccessEventRepository } from './access-events.ts';
import { PostgresLedgerStorage, SqliteLedgerStorage, type SqlLedgerStorage } from './ledger-storage.ts';
import { AccessEventProjection, insertIndexRows } from './access-event-projection.ts';
import { WorkerEventIndex } from './event-index-client.ts';
import { LedgerWriter } from './ledger-writer.ts';
import type { AccessEventQueries, EventIndex, ProjectionOptions } from './event-index.ts';
import { PostgresBudgetCounter, SqliteBudgetCounter, type BudgetCounter } from './budgets.ts';

export type StoreDialect = 'sqlite' | 'postgres';

export type StoreLocation =
  | { dialect: 'sqlite'; file: string }
  | { dialect: 'postgres'; url: string; schema?: string };

/** `--store URL` wins over `--data DIR`; the default is ./data. */
export function resolveStoreLocation(opts: { data?: string; store?: string }): StoreLocation {
  if (opts.store) {
    const url = opts.store;
    if (/^postgres(ql)?:\/\//.test(url)) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new ConfigError(`--store: "${redactUrl(url)}" is not a valid URL`);
      }
      const schema = parsed.searchParams.get('schema') ?? undefined;
      if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
        throw new ConfigError(`--store: schema "${schema}" must be lower-case letters, digits and _`);
      }
      parsed.searchParams.delete('schema');
      return { dialect: 'postgres', url: parsed.toString(), ...(schema ? { schema } : {}) };
    }
    if (url.startsWith('sqlite:')) return { dialect: 'sqlite', file: resolve(url.slice('sqlite:'.length)) };
    throw new ConfigError(`--store: expected postgres://… or sqlite:FILE, got "${redactUrl(url)}"`);
  }
  return { dialect: 'sqlite', file: join(resolve(opts.data ?? 'data'), 'custos.db') };
}

/** The SQLite store's access-event index file, beside the ledger's: custos.db → custos-index.db. */
export function indexFileFor(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}-index.db`);
}

/** The SQLite store's budgets file, beside the ledger's: custos.db → custos-budgets.db. */
export function budgetsFileFor(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}-budgets.db`);
}

/** Never print a password from a connection URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
}

export interface StoreOptions {
  /** When and how the access-event index follows the ledger. */
  eventIndex?: ProjectionOptions;
  /** Failures of the store's background threads that no caller is waiting on. */
  onError?: (err: unknown) => void;
  /**
   * A customer was deleted but the database could not yet erase every old copy of its row
   * (SQLite: a reader kept the WAL from being truncated; PostgreSQL: VACUUM failed or was
   * skipped). The delete itself stands; say why, for the operator.
   */
  onShredIncomplete?: (why: string) => void;
}

// Each attempt waits up to busy_timeout for readers to leave the WAL.
const WAL_TRUNCATE_ATTEMPTS = 3;

export class Store {
  readonly customers: CustomerRepository;
  readonly employees: EmployeeRepository;
  readonly cases: CaseRepository;
  /** The access-event index: by actor, by customer, by time. */
  readonly accessEvents: AccessEventQueries;
  readonly ledger: SqlLedgerStorage;
  /** Keeps the access-event index caught up with the ledger. */
  readonly eventIndex: EventIndex;
  /** Reveal and search budgets, shared by every process on this store. */
  readonly budgets: BudgetCounter;
  /** Which key ring the store belongs to, and the KEK new data keys must be under. */
  readonly keyRingIdentity: KeyRingIdentityRepository;
  /** SQLite: the thread that writes ledger batches. */
  private readonly writer: LedgerWriter | undefined;

  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: StoreDialect,
    readonly location: StoreLocation,
    sqlite: BetterSqlite3.Database | undefined,
    pool: pg.Pool | undefined,
    options: StoreOptions,
  ) {
    const shredIncomplete = options.onShredIncomplete ?? (() => {});
    this.customers = new CustomerRepository(db, dialect, sqlite, () =>
      this.writer ? truncateWal(this.writer, shredIncomplete) : vacuumCustomers(pool!, shredIncomplete),
    );
    this.keyRingIdentity = new KeyRingIdentityRepository(db);
    this.employees = new EmployeeRepository(db, sqlite);
    this.cases = new CaseRepository(db, sqlite);
    this.writer = location.dialect === 'sqlite' ? new LedgerWriter(location.file, options.onError) : undefined;
    this.ledger = sqlite ? new SqliteLedgerStorage(db, sqlite, this.writer) : new PostgresLedgerStorage(db);
    if (location.dialect === 'sqlite') {
      const index = new WorkerEventIndex(location.file, indexFileFor(location.file), options.eventIndex);
      this.eventIndex = index;
      this.accessEvents = index;
    } else {
      const projection = new AccessEventProjection(db, insertIndexRows, this.ledger, options.eventIndex);
      this.eventIndex = projection;
      this.accessEvents = new AccessEventRepository(db, projection);
    }
    this.ledger.onAppended = (size) => this.eventIndex.noteAppended(size);
    this.budgets = location.dialect === 'sqlite' ? new SqliteBudgetCounter(budgetsFileFor(location.file)) : new PostgresBudgetCounter(db);
  }

  static async open(location: StoreLocation, options: StoreOptions = {}): Promise<Store> {
    let db: Kysely<Database>;
    let sqlite: BetterSqlite3.Database | undefined;
    let pool: pg.Pool | undefined;
    if (location.dialect === 'sqlite') {
      mkdirSync(resolve(location.file, '..'), { recursive: true, mode: 0o700 });
      try {
        sqlite = new BetterSqlite3(location.file);
      } catch (err) {
        throw new ConfigError(`cannot open SQLite store ${location.file}: ${(err as Error).message}`);
      }
      sqlite.pragma('journal_mode = WAL');
      // FULL: a committed ledger batch survives power loss, which the fail-closed promise needs.
      sqlite.pragma('synchronous = FULL');
      sqlite.pragma('busy_timeout = 5000');
      // Index inserts on the event tables touch pages all over the file; a larger page cache
      // (64 MiB) keeps them in memory between commits.
      sqlite.pragma('cache_size = -65536');
      // Crypto-shredding deletes a customer's wrapped key; zero its bytes in the page instead of
      // leaving them in free space (on every connection that writes this file: ledger-writer-worker.ts).
      sqlite.pragma('secure_delete = ON');
      db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    } else {
      pool = new pg.Pool({
        connectionString: location.url,
        max: 10,
        // A process that hangs (not dies) inside a transaction, e.g. holding the ledger's
        // sequencer, is cut off after 10 s so the others go on; Custos's transactions are
        // never idle that long.
        options: `-c idle_in_transaction_session_timeout=10000${location.schema ? ` -c search_path=${location.schema}` : ''}`,
      });
      pool.on('error', () => {
        /* idle client errors surface on the next query */
      });
      db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
      try {
        if (location.schema) await db.schema.createSchema(location.schema).ifNotExists().execute();
      } catch (err) {
        await db.destroy();
        throw new UnavailableError(`cannot reach PostgreSQL at ${redactUrl(location.url)}: ${(err as Error).message}`);
      }
    }
    const store = new Store(db, location.dialect, location, sqlite, pool, options);
    try {
      await store.migrate();
    } catch (err) {
      await store.budgets.close();
      await db.destroy();
      throw err;
    }
    return store;
  }

  async migrate(): Promise<void> {
    const provider = migrationsFor(this.dialect);
    // Most opens find the store up to date. Asking our own migration table says so in one query;
    // kysely's Migrator would first introspect every table of the whole database, which is slow
    // with many schemas and fails when another schema is dropped meanwhile.
    if (await this.appliedAll(Object.keys(await provider.getMigrations()))) return;
    const migrator = new Migrator({
      db: this.db,
      provider,
      // Without it kysely would find another schema's migration tables and skip creating ours.
      ...(this.location.dialect === 'postgres' && this.location.schema ? { migrationTableSchema: this.location.schema } : {}),
    });
    for (let attempt = 1; ; attempt++) {
      const { error, results } = await migrator.migrateToLatest();
      if (!error) return;
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      // A failure before any migration ran is the Migrator's introspection racing a schema
      // dropped elsewhere in the database: it is safe to ask again.
      if (!failed && attempt < 3) continue;
      throw new UnavailableError(`store migration ${failed ?? ''} failed: ${(error as Error).message}`);
    }
  }

  /** Whether every migration named is recorded as applied (false when the table is missing). */
  private async appliedAll(names: string[]): Promise<boolean> {
    try {
      // The PostgreSQL pool's search_path is the store's schema, where the Migrator keeps its table.
      const rows = await this.db.selectFrom('kysely_migration' as never).select('name' as never).execute() as Array<{ name: string }>;
      const applied = new Set(rows.map((r) => r.name));
      return names.every((n) => applied.has(n));
    } catch {
      return false;
    }
  }

  describe(): string {
    return this.location.dialect === 'sqlite'
      ? `sqlite:${this.location.file}`
      : `${redactUrl(this.location.url)}${this.location.schema ? ` (schema ${this.location.schema})` : ''}`;
  }

  /** Start the store's background threads now rather than when first needed (a server's first request). */
  async warmUp(): Promise<void> {
    await Promise.all([this.writer?.start(), this.eventIndex.ready()]);
  }

  async close(): Promise<void> {
    try {
      await this.writer?.close();
      // The index is rebuilt from the ledger at the next start anyway; this only saves the wait.
      await this.eventIndex.close();
      await this.budgets.close();
    } finally {
      await this.db.destroy();
    }
  }
}

/**
 * After a customer's delete (secure_delete has zeroed the row in its page): copy the WAL into
 * the file and truncate it, since earlier frames of the same pages still hold the row as it was
 * written. A reader in the WAL blocks truncation; try again, then say so.
 */
async function truncateWal(writer: LedgerWriter, shredIncomplete: (why: string) => void): Promise<void> {
  for (let attempt = 1; attempt <= WAL_TRUNCATE_ATTEMPTS; attempt++) {
    const result = await writer.truncateWal();
    if (result.busy === 0) return;
  }
  shredIncomplete(`the WAL could not be truncated after ${WAL_TRUNCATE_ATTEMPTS} attempts (another connection kept reading it); earlier frames of the deleted row stay in it until the next checkpoint`);
}

/**
 * After a customer's delete on PostgreSQL: vacuum the dead tuple and its index entries now
 * rather than at autovacuum's leisure (README "Keys" says what still remains). PostgreSQL skips
 * a table the role does not own with only a warning, so the notices are read too.
 */
async function vacuumCustomers(pool: pg.Pool, shredIncomplete: (why: string) => void): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    shredIncomplete(`VACUUM customers did not run: ${(err as Error).message}`);
    return;
  }
  const notices: string[] = [];
  const onNotice = (notice: { message?: string }) => notices.push(notice.message ?? '');
  client.on('notice', onNotice);
  try {
    await client.query('VACUUM (INDEX_CLEANUP ON) customers');
    const skipped = notices.find((m) => /skipping/i.test(m));
    if (skipped) shredIncomplete(`VACUUM customers was skipped: ${skipped}`);
  } catch (err) {
    shredIncomplete(`VACUUM customers failed: ${(err as Error).message}`);
  } finally {
    client.off('notice', onNotice);
    client.release();
  }
}

/**
 * kysely prepares every query afresh; on the reveal path that compilation costs more than the
 * query. Statements are reusable, so keep the prepared ones by SQL text (bounded: multi-row
 * inserts of varying sizes make distinct texts).
 */
function withStatementCache(sqlite: BetterSqlite3.Database): { prepare(sql: string): BetterSqlite3.Statement; close(): void } {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (cache.size >= 512) cache.clear();
        cache.set(sql, statement);
      }
      return statement;
    },
    close() {
      cache.clear();
      sqlite.close();
    },
  };
}

// int8 columns (ledger indexes, seq) fit in a double for any realistic log; read them as numbers.
pg.types.setTypeParser(20, (v: string) => Number(v));
