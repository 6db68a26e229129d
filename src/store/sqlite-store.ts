/**
 * The embedded dialect: one SQLite file for records (custos.db), with the ledger
 * (custos-ledger.db, written by a ledger-writer thread), the access-event index
 * (custos-index.db) and budgets (custos-budgets.db) in files of their own beside it.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { ConfigError } from '../errors.ts';
import type { Database } from './schema.ts';
import { CustomerRepository } from './customers.ts';
import { EmployeeRepository } from './employees.ts';
import { CaseRepository } from './cases.ts';
import { SqliteLedgerStorage } from './ledger-storage.ts';
import { WorkerEventIndex } from './event-index-client.ts';
import { LedgerWriter } from './ledger-writer.ts';
import { SqliteBudgetCounter } from './budgets.ts';
import { SqliteNoticeOutbox } from './notice-outbox.ts';
import { SqliteAlertStore } from './alerts.ts';
import { SqliteIncidentStore } from './incidents.ts';
import { budgetsFileFor, indexFileFor, ledgerFileFor, noticesFileFor, type StoreOptions, type StoreParts } from './store.ts';
import { attachLedgerFile, moveLedgerTables } from './ledger-file.ts';

// Each attempt waits up to busy_timeout for readers to leave the WAL.
const WAL_TRUNCATE_ATTEMPTS = 3;

export function openSqliteStore(file: string, options: StoreOptions): StoreParts {
  mkdirSync(resolve(file, '..'), { recursive: true, mode: 0o700 });
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(file);
  } catch (err) {
    throw new ConfigError(`cannot open SQLite store ${file}: ${(err as Error).message}`);
  }
  sqlite.pragma('journal_mode = WAL');
  // FULL: a committed write survives power loss (the ledger file's are set in ledger-file.ts).
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  // Index inserts on the event tables touch pages all over the file; a larger page cache
  // (64 MiB) keeps them in memory between commits.
  sqlite.pragma('cache_size = -65536');
  // Crypto-shredding deletes a customer's wrapped key; zero its bytes in the page instead of
  // leaving them in free space (custos.db is written on this connection only).
  sqlite.pragma('secure_delete = ON');
  const ledgerFile = ledgerFileFor(file);
  try {
    attachLedgerFile(sqlite, ledgerFile);
  } catch (err) {
    sqlite.close();
    throw new ConfigError(`cannot open SQLite ledger ${ledgerFile}: ${(err as Error).message}`);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  const writer = new LedgerWriter(ledgerFile, file, options.onError);
  const index = new WorkerEventIndex(ledgerFile, indexFileFor(file), options.eventIndex);
  const shredIncomplete = options.onShredIncomplete ?? (() => {});
  return {
    db,
    customers: new CustomerRepository(db, sqlite, () => truncateWal(writer, shredIncomplete)),
    employees: new EmployeeRepository(db, sqlite),
    cases: new CaseRepository(db, sqlite),
    ledger: new SqliteLedgerStorage(db, sqlite, writer),
    eventIndex: index,
    accessEvents: index,
    budgets: new SqliteBudgetCounter(budgetsFileFor(file)),
    noticeOutbox: new SqliteNoticeOutbox(noticesFileFor(file)),
    alerts: new SqliteAlertStore(db),
    incidents: new SqliteIncidentStore(db),
    afterMigrations: async () => moveLedgerTables(sqlite),
    warmUp: async () => void (await Promise.all([writer.start(), index.ready()])),
    closeBackground: async () => {
      await writer.close();
      await index.close();
    },
  };
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
