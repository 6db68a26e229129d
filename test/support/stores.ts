/**
 * Run a suite against both dialects. PostgreSQL is a real server (127.0.0.1:5432, database
 * `test`, or CUSTOS_TEST_PG); each suite gets its own schema, dropped afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Store, type StoreLocation } from '../../src/store/store.ts';

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
