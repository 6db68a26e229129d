/**
 * The one store interface. The dialect (embedded SQLite or PostgreSQL) is chosen here, once, by
 * loading its module (sqlite-store.ts, postgres-store.ts), which builds that dialect's classes;
 * nothing outside src/store writes SQL or knows which database it runs on.
 */
import { basename, dirname, extname, join, resolve } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { ConfigError, UnavailableError } from '../errors.ts';
import { migrationsFor } from './migrations.ts';
import type { Database } from './schema.ts';
import type { CustomerRepository } from './customers.ts';
import { KeyRingIdentityRepository } from './key-ring-identity.ts';
import type { EmployeeRepository } from './employees.ts';
import type { CaseRepository } from './cases.ts';
import type { SqlLedgerStorage } from './ledger-storage.ts';
import type { AccessEventQueries, EventIndex, ProjectionOptions } from './event-index.ts';
import type { BudgetCounter } from './budgets.ts';
import type { NoticeOutbox } from './notice-outbox.ts';
import type { AlertStore } from './alerts.ts';
import { IngestedEventRepository } from './ingested-events.ts';
import type { IncidentStore } from './incidents.ts';

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

/** The SQLite store's ledger file, beside the records': custos.db → custos-ledger.db. */
export function ledgerFileFor(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}-ledger.db`);
}

/** The SQLite store's access-event index file, beside the records': custos.db → custos-index.db. */
export function indexFileFor(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}-index.db`);
}

/** The SQLite store's notice outbox file, beside the records': custos.db → custos-notices.db. */
export function noticesFileFor(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}-notices.db`);
}

/** The SQLite store's budgets file, beside the records': custos.db → custos-budgets.db. */
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

/** What a dialect's module builds: its repositories and background work behind the store's interfaces. */
export interface StoreParts {
  db: Kysely<Database>;
  customers: CustomerRepository;
  employees: EmployeeRepository;
  cases: CaseRepository;
  ledger: SqlLedgerStorage;
  eventIndex: EventIndex;
  accessEvents: AccessEventQueries;
  budgets: BudgetCounter;
  noticeOutbox: NoticeOutbox;
  alerts: AlertStore;
  incidents: IncidentStore;
  /** The dialect's own layout steps, run after the shared migrations on every open. */
  afterMigrations(): Promise<void>;
  /** Start the dialect's background threads now. */
  warmUp(): Promise<void>;
  /** Stop them (before the database closes). */
  closeBackground(): Promise<void>;
}

export class Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  readonly customers: CustomerRepository;
  readonly employees: EmployeeRepository;
  readonly cases: CaseRepository;
  /** The access-event index: by actor, by customer, by time. */
  readonly accessEvents: AccessEventQueries;
  readonly ledger: SqlLedgerStorage;
  /** Projects the ledger into the access-event index. */
  readonly eventIndex: EventIndex;
  /** Reveal and search budgets, shared by every process on this store. */
  readonly budgets: BudgetCounter;
  /** Customer notices waiting to go, going and gone. */
  readonly noticeOutbox: NoticeOutbox;
  /** Detection's alerts, risk scores and alert state changes. */
  readonly alerts: AlertStore;
  /** Which events each source has had ingested (a resent ingest skips them). */
  readonly ingestedEvents: IngestedEventRepository;
  /** Incidents and their timelines. */
  readonly incidents: IncidentStore;
  /** Which key ring the store belongs to, and the KEK new data keys must be under. */
  readonly keyRingIdentity: KeyRingIdentityRepository;

  private constructor(
    readonly location: StoreLocation,
    private readonly parts: StoreParts,
  ) {
    this.db = parts.db;
    this.dialect = location.dialect;
    this.customers = parts.customers;
    this.employees = parts.employees;
    this.cases = parts.cases;
    this.accessEvents = parts.accessEvents;
    this.ledger = parts.ledger;
    this.eventIndex = parts.eventIndex;
    this.budgets = parts.budgets;
    this.noticeOutbox = parts.noticeOutbox;
    this.alerts = parts.alerts;
    this.ingestedEvents = new IngestedEventRepository(parts.db);
    this.incidents = parts.incidents;
    this.keyRingIdentity = new KeyRingIdentityRepository(parts.db);
    this.ledger.onAppended = (size) => this.eventIndex.noteAppended(size);
  }

  static async open(location: StoreLocation, options: StoreOptions = {}): Promise<Store> {
    // Each dialect's module is loaded only when used: an embedded store never loads the PostgreSQL driver.
    const parts = location.dialect === 'sqlite'
      ? (await import('./sqlite-store.ts')).openSqliteStore(location.file, options)
      : await (await import('./postgres-store.ts')).openPostgresStore(location, options);
    const store = new Store(location, parts);
    try {
      await store.migrate();
      await parts.afterMigrations();
    } catch (err) {
      await store.close();
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
      // Numbers are handed out before work lands, so a store may have run 0012 before 0011
      // exists; each migration stands alone, so the missing one simply runs.
      allowUnorderedMigrations: true,
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
  warmUp(): Promise<void> {
    return this.parts.warmUp();
  }

  async close(): Promise<void> {
    try {
      // The index is rebuilt from the ledger at the next start anyway; this only saves the wait.
      await this.parts.closeBackground();
      await this.budgets.close();
      await this.noticeOutbox.close();
    } finally {
      await this.db.destroy();
    }
  }
}

