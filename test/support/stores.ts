/**
 * Run a suite against both dialects. PostgreSQL is a real server (127.0.0.1:5432, database
 * `test`, or CUSTOS_TEST_PG); each suite gets its own schema, dropped afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { ledgerFileFor, Store, type StoreLocation } from '../../src/store/store.ts';

export const TEST_PG_URL = process.env.CUSTOS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStoreTarget {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty location; call again for another. */
  location(): StoreLocation;
  /** The `--store`/`--data` flags for that location, for CLI tests. */
  flags(loc: StoreLocation): string[];
  cleanup(): Promise<void>;
}

export function sqliteTarget(): TestStoreTarget {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    location() {
      const dir = mkdtempSync(join(tmpdir(), 'custos-test-'));
      dirs.push(dir);
      return { dialect: 'sqlite', file: join(dir, 'custos.db') };
    },
    flags(loc) {
      return loc.dialect === 'sqlite' ? ['--data', join(loc.file, '..')] : [];
    },
    async cleanup() {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

export function postgresTarget(): TestStoreTarget {
  const schemas: string[] = [];
  return {
    name: 'postgres',
    location() {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return { dialect: 'postgres', url: TEST_PG_URL, schema };
    },
    flags(loc) {
      return loc.dialect === 'postgres' ? ['--store', `${loc.url}?schema=${loc.schema}`] : [];
    },
    async cleanup() {
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await client.end();
    },
  };
}

export const storeTargets = (): TestStoreTarget[] => [sqliteTarget(), postgresTarget()];

export async function openTestStore(target: TestStoreTarget): Promise<Store> {
  return Store.open(target.location());
}

/** A fresh store for CLI runs: its location, the flags naming it (and a data directory for key files), and a scratch file writer. */
export function cliStore(target: TestStoreTarget, prefix: string): { dir: string; loc: StoreLocation; flags: string[]; file(name: string, text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const loc = target.location();
  return {
    dir,
    loc,
    flags: target.name === 'sqlite' ? target.flags(loc) : ['--data', dir, ...target.flags(loc)],
    file(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
  };
}

/**
 * Puts a closed SQLite store's ledger back where stores kept it before the ledger had a file of
 * its own: its tables in custos.db, as migration 0001 created them, and no ledger file. What
 * `Store.open` must then move (ledger-file.ts).
 */
export function toOldLedgerLayout(file: string): void {
  const db = new BetterSqlite3(file);
  try {
    db.prepare('ATTACH DATABASE ? AS ledger').run(ledgerFileFor(file));
    db.transaction(() => {
      db.exec('create table main."ledger_entries" ("idx" integer primary key, "entry" blob not null)');
      db.exec('create table main."ledger_nodes" ("level" integer not null, "idx" integer not null, "hash" blob not null, constraint "ledger_nodes_pk" primary key ("level", "idx"))');
      db.exec('create table main."ledger_checkpoints" ("size" integer primary key, "note" text not null, "signed_at" text not null)');
      for (const table of ['ledger_entries', 'ledger_nodes', 'ledger_checkpoints']) db.exec(`INSERT INTO main.${table} SELECT * FROM ledger.${table}`);
    })();
    db.exec('DETACH DATABASE ledger');
  } finally {
    db.close();
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(ledgerFileFor(file) + suffix, { force: true });
}
