/**
 * Crypto-shredding, checked where it lands: after DELETE /v1/customers/:id returns, no file
 * under the SQLite data directory holds any byte string of the customer's stored record (its
 * wrapped key, sealed fields or blind indexes, in any version it was written in), the WAL
 * included. On PostgreSQL the delete stands even where VACUUM may not run.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startInstance } from '../support/instance.ts';
import { postgresTarget, sqliteTarget, TEST_PG_URL } from '../support/stores.ts';
import { Store } from '../../src/store/store.ts';
import type { StoredCustomer } from '../../src/store/customers.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Each stored byte string of a customer, in every form a file could hold it: raw, base64, hex. */
function needles(c: StoredCustomer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const add = (label: string, bytes: Buffer) => {
    out.set(`${label} (raw)`, bytes);
    out.set(`${label} (base64)`, Buffer.from(bytes.toString('base64')));
    out.set(`${label} (hex)`, Buffer.from(bytes.toString('hex')));
  };
  add(`${c.updatedAt} wrapped key`, Buffer.from(c.wrappedKey));
  for (const [field, sealed] of Object.entries(c.sealed)) add(`${c.updatedAt} sealed ${field}`, Buffer.from(sealed));
  for (const [name, index] of [['email index', c.emailIndex], ['phone index', c.phoneIndex]] as const) {
    if (index === null) continue;
    out.set(`${c.updatedAt} ${name} (text)`, Buffer.from(index));
    out.set(`${c.updatedAt} ${name} (raw)`, Buffer.from(index, 'hex'));
  }
  return out;
}

function found(dir: string, wanted: Map<string, Buffer>): string[] {
  const hits: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const [label, needle] of wanted) if (bytes.includes(needle)) hits.push(`${label} in ${file}`);
  }
  return hits;
}

describe('crypto-shredding on sqlite', () => {
  const target = sqliteTarget();
  afterAll(() => target.cleanup());

  it('leaves no byte of a deleted customer in any file of the data directory, WAL included', async () => {
    const loc = target.location();
    if (loc.dialect !== 'sqlite') throw new Error('sqlite target expected');
    const dataDir = dirname(loc.file);
    const t = await startInstance({ store: loc, customers: 50 });
    try {
      const admin = await t.token('adm-0001');
      const body = (n: number) => ({
        id: 'cus-shred',
        email: `shred.me.${n}@mail.example`,
        phone: `+1415555${String(1000 + n)}`,
        name: `Shredded Person ${n}`,
        country: 'US',
        note: `distinctive free text ${n} `.repeat(8),
      });
      // Written three times: earlier versions of the row linger in the WAL's older frames.
      const versions: StoredCustomer[] = [];
      for (let n = 1; n <= 3; n++) {
        const res = await t.call(n === 1 ? 'POST' : 'PUT', n === 1 ? '/v1/customers' : '/v1/customers/cus-shred', { token: admin, body: body(n) });
        expect(res.status, JSON.stringify(res.body)).toBe(n === 1 ? 201 : 200);
        versions.push((await t.custos.store.customers.get('cus-shred'))!);
      }
      const wanted = new Map(versions.flatMap((v) => [...needles(v)]));
      // The scan finds them while the customer exists (the latest version at least).
      expect(found(dataDir, needles(versions[2]!)).length).toBeGreaterThan(0);

      const deleted = await t.call('DELETE', '/v1/customers/cus-shred', { token: admin });
      expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);
      expect(filesUnder(dataDir).some((f) => f.endsWith('custos.db-wal'))).toBe(true);
      expect(found(dataDir, wanted)).toEqual([]);
      // Other customers are untouched.
      expect((await t.call('GET', '/v1/customers/cus-000001', { token: admin })).status).toBe(200);
    } finally {
      await t.stop();
    }
  }, 120_000);
});

describe('crypto-shredding on postgres', () => {
  const target = postgresTarget();
  const roles: string[] = [];
  afterAll(async () => {
    await target.cleanup();
    const client = new pg.Client({ connectionString: TEST_PG_URL });
    await client.connect();
    for (const role of roles) await client.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`);
    await client.end();
  });

  it('vacuums the customers table after a delete', async () => {
    const t = await startInstance({ store: target.location(), customers: 20 });
    try {
      const admin = await t.token('adm-0001');
      expect((await t.call('DELETE', '/v1/customers/cus-000002', { token: admin })).status).toBe(204);
      const loc = t.custos.store.location;
      const client = new pg.Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        const schema = loc.dialect === 'postgres' ? loc.schema : undefined;
        const row = await client.query('SELECT last_vacuum FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2', [schema, 'customers']);
        expect(row.rows[0]?.last_vacuum).not.toBeNull();
      } finally {
        await client.end();
      }
    } finally {
      await t.stop();
    }
  }, 120_000);

  it('still deletes, and says why, when the role may not VACUUM the table', async () => {
    const loc = target.location();
    if (loc.dialect !== 'postgres') throw new Error('postgres target expected');
    // The owner creates the schema; the server then runs as a role that may read and write the
    // tables but does not own them, so PostgreSQL skips the VACUUM with a warning.
    await (await Store.open(loc)).close();
    const role = `custos_limited_${loc.schema}`;
    roles.push(role);
    const owner = new pg.Client({ connectionString: TEST_PG_URL });
    await owner.connect();
    try {
      await owner.query(`CREATE ROLE ${role} LOGIN`);
      await owner.query(`GRANT CREATE, CONNECT ON DATABASE ${new URL(TEST_PG_URL).pathname.slice(1)} TO ${role}`);
      await owner.query(`GRANT USAGE ON SCHEMA ${loc.schema} TO ${role}`);
      await owner.query(`GRANT ALL ON ALL TABLES IN SCHEMA ${loc.schema} TO ${role}`);
    } finally {
      await owner.end();
    }
    const url = new URL(loc.url);
    url.username = role;
    url.password = '';
    const logLines: string[] = [];
    const t = await startInstance({ store: { dialect: 'postgres', url: url.toString(), schema: loc.schema }, customers: 20, logLines });
    try {
      const admin = await t.token('adm-0001');
      const deleted = await t.call('DELETE', '/v1/customers/cus-000003', { token: admin });
      expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);
      expect(await t.custos.store.customers.get('cus-000003')).toBeUndefined();
      expect(logLines.join('\n')).toMatch(/VACUUM customers was skipped/);
    } finally {
      await t.stop();
    }
  }, 120_000);
});
