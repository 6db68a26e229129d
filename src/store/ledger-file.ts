/**
 * The SQLite ledger's file of its own (custos.db → custos-ledger.db): ledger_entries,
 * ledger_nodes and ledger_checkpoints.
 *
 * Why: SQLite empties a connection's page cache whenever another connection has committed to the
 * same file since its last read. With the ledger in custos.db, every batch the writer thread
 * committed made the request thread's next employee, customer and case reads go back to the
 * file. In a file of their own, ledger commits leave the records' cache warm.
 *
 * The store's connection attaches the file as `ledger`; the tables are named unqualified
 * everywhere (custos.db no longer has them), so the dialect-neutral queries run unchanged. The
 * writer thread opens the file alone: a transaction on a connection that has other files
 * attached would lock them all.
 */
import type BetterSqlite3 from 'better-sqlite3';

/** The schema name the ledger file is attached under. */
export const LEDGER_SCHEMA = 'ledger';

const LEDGER_TABLES = ['ledger_entries', 'ledger_nodes', 'ledger_checkpoints'] as const;

/**
 * The live layout, as migration 0001 created the tables (which it still does in custos.db on a
 * new store, before moveLedgerTables moves them here). The columns are listed so that a copy
 * from an older file takes them by name.
 */
const LEDGER_DDL: Record<(typeof LEDGER_TABLES)[number], { create: string; columns: string }> = {
  ledger_entries: { create: '(idx integer PRIMARY KEY, entry blob NOT NULL)', columns: 'idx, entry' },
  ledger_nodes: { create: '(level integer NOT NULL, idx integer NOT NULL, hash blob NOT NULL, CONSTRAINT ledger_nodes_pk PRIMARY KEY (level, idx))', columns: 'level, idx, hash' },
  ledger_checkpoints: { create: '(size integer PRIMARY KEY, note text NOT NULL, signed_at text NOT NULL)', columns: 'size, note, signed_at' },
};

/** Pragmas of a connection that writes the ledger file, under `schema` (`main` for the writer thread). */
export function ledgerPragmas(sqlite: BetterSqlite3.Database, schema: string): void {
  sqlite.pragma(`${schema}.journal_mode = WAL`);
  // FULL: a committed ledger batch survives power loss, which the fail-closed promise needs.
  sqlite.pragma(`${schema}.synchronous = FULL`);
  sqlite.pragma(`${schema}.cache_size = -65536`);
}

/** Attach the ledger file to the store's connection. */
export function attachLedgerFile(sqlite: BetterSqlite3.Database, ledgerFile: string): void {
  sqlite.prepare(`ATTACH DATABASE ? AS ${LEDGER_SCHEMA}`).run(ledgerFile);
  ledgerPragmas(sqlite, LEDGER_SCHEMA);
}

/**
 * Run after the migrations on every open. On a new store, or one written before the ledger had a
 * file of its own, custos.db holds the ledger tables: copy their rows into the ledger file, then
 * drop them from custos.db. Two transactions, because SQLite commits attached WAL files one after
 * the other, not atomically: the copy first (custos.db still holds everything if it is
 * interrupted, and the next open copies again from scratch), then the drop. Both hold both
 * files' write locks, so two processes opening the same old store take turns, and the second
 * finds nothing left to move.
 */
export function moveLedgerTables(sqlite: BetterSqlite3.Database): void {
  const inMain = (table: string) => sqlite.prepare("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
  const createAll = () => {
    for (const table of LEDGER_TABLES) sqlite.exec(`CREATE TABLE IF NOT EXISTS ${LEDGER_SCHEMA}.${table} ${LEDGER_DDL[table].create}`);
  };
  if (!LEDGER_TABLES.some(inMain)) {
    createAll();
    return;
  }
  const copy = sqlite.transaction(() => {
    if (!LEDGER_TABLES.some(inMain)) return;
    createAll();
    for (const table of LEDGER_TABLES) {
      if (!inMain(table)) continue;
      // Rows here are a copy an interrupted open left behind: custos.db still holds all of them.
      sqlite.exec(`DELETE FROM ${LEDGER_SCHEMA}.${table}`);
      const { columns } = LEDGER_DDL[table];
      sqlite.exec(`INSERT INTO ${LEDGER_SCHEMA}.${table} (${columns}) SELECT ${columns} FROM main.${table}`);
    }
  });
  const drop = sqlite.transaction(() => {
    for (const table of LEDGER_TABLES) if (inMain(table)) sqlite.exec(`DROP TABLE main.${table}`);
  });
  copy.immediate();
  drop.immediate();
}
