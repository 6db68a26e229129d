/**
 * Operator acts through the real `custos` command: each is recorded in the ledger, in the
 * same tree as the server's entries, with who ran it — an employee named by --as (decided by
 * Cedar; a denial is recorded and nothing is done) or the host's OS user.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { custosCli } from '../support/cli.ts';
import { cliStore, storeTargets } from '../support/stores.ts';
import { Store } from '../../src/store/store.ts';
import { checkId, decodeAccessEvent, type AccessEvent } from '../../src/model.ts';
import { hostActorId } from '../../src/cli/operator.ts';

const lines = (...objects: unknown[]) => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
const employee = (id: string, role: string) => ({ id, name: `Name ${id}`, team: 'ops', role, location: 'Milan', hiredAt: '2024-01-01T00:00:00Z' });
const customer = (n: number) => ({ id: `c-${n}`, email: `p${n}@mail.example`, phone: `+39 312 345 ${1000 + n}`, name: `Person ${n}`, country: 'IT' });
const SLOW = 240_000;

describe('the host actor id', () => {
  it('is os:<user>@<host>, cleaned to what an actor id may hold', () => {
    expect(hostActorId('ann', 'box-1.example')).toBe('os:ann@box-1.example');
    const odd = hostActorId('DOMAIN\\Ann Smith', `host with spaces ${'x'.repeat(200)}`);
    expect(odd).toMatch(/^os:DOMAIN-Ann-Smith@host-with-spaces-x+$/);
    expect(checkId(odd, 'actor')).toBe(odd);
    expect(checkId(hostActorId('', ''), 'actor')).toBe('os:unknown@unknown');
  });
});

for (const target of storeTargets()) {
  describe(`operator acts recorded, on ${target.name}`, () => {
    const { dir, loc, flags, file } = cliStore(target, 'custos-operator-');
    const withStore = async <T>(work: (store: Store) => Promise<T>): Promise<T> => {
      const store = await Store.open(loc);
      try {
        return await work(store);
      } finally {
        await store.close();
      }
    };
    /** Every event in the ledger, in order. */
    const events = () => withStore(async (store) => {
      const out: AccessEvent[] = [];
      for await (const e of store.ledger.readEntries(0, await store.ledger.size())) out.push(decodeAccessEvent(e.entry)!);
      return out;
    });
    const host = hostActorId();

    afterAll(() => target.cleanup());

    beforeAll(async () => {
      const staff = file('employees.jsonl', lines(employee('adm-1', 'admin'), employee('agent-1', 'agent'), employee('dpo-1', 'privacy_officer')));
      const res = await custosCli(['import', 'employees', staff, ...flags]);
      expect(res.code, res.stderr).toBe(0);
    }, SLOW);

    it('records an import by the host user: its intent before, then the file, digest and counts', async () => {
      const recorded = await events();
      const staff = join(dir, 'employees.jsonl');
      const sha256 = createHash('sha256').update(readFileSync(staff)).digest('hex');
      const first = { actor: host, action: 'update', channel: 'cli', decision: 'allow', target: { type: 'directory', id: 'employees' }, operation: 'import' };
      expect(recorded).toHaveLength(2);
      expect(recorded[0]).toMatchObject({ ...first, details: { file: 'employees.jsonl', sha256 } });
      expect(recorded[1]).toMatchObject({ ...first, details: { file: 'employees.jsonl', sha256, result: 'done', imported: 3, skipped: 0 } });

      // A bad line stops the import; what was imported before it is recorded too.
      const bad = file('customers.jsonl', `${lines(customer(1), customer(2))}{"id":"c-3"}\n`);
      const stopped = await custosCli(['import', 'customers', bad, '--as', 'adm-1', ...flags]);
      expect(stopped.code).toBe(2);
      const after = (await events()).slice(2);
      expect(after.map((e) => [e.actor, e.target, e.details?.result, e.details?.imported])).toEqual([
        ['adm-1', { type: 'directory', id: 'customers' }, undefined, undefined],
        ['adm-1', { type: 'directory', id: 'customers' }, 'failed', 2],
      ]);
      expect(after[0]!.details?.file).toBe(basename(bad));
    }, SLOW);

    it('denies an employee Cedar does not allow: exit 4 with the reason, the denial recorded, nothing done', async () => {
      const before = (await events()).length;
      const more = file('more.jsonl', lines(customer(10)));
      const denied = await custosCli(['import', 'customers', more, '--as', 'agent-1', ...flags]);
      expect(denied.code).toBe(4);
      expect(denied.stderr).toMatch(/forbidden \(not_permitted\)/);
      const recorded = (await events()).slice(before);
      expect(recorded).toEqual([expect.objectContaining({ actor: 'agent-1', decision: 'deny', reason: 'not_permitted', operation: 'import', channel: 'cli' })]);
      expect(await withStore((s) => s.customers.exists('c-10'))).toBe(false);

      const token = await custosCli(['token', 'issue', '--employee', 'agent-1', '--as', 'agent-1', ...flags]);
      expect(token.code).toBe(4);
      expect(token.stdout).toBe('');
      expect((await custosCli(['token', 'issue', '--employee', 'agent-1', '--as', 'no such one', ...flags])).code).toBe(2);
    }, SLOW);

    it('records token issue (never the token), key rotations, and ledger exports', async () => {
      const before = (await events()).length;
      const issued = await custosCli(['token', 'issue', '--employee', 'agent-1', '--ttl', '120', '--as', 'adm-1', ...flags]);
      expect(issued.code, issued.stderr).toBe(0);
      const token = issued.stdout.trim();
      const rotated = await custosCli(['keys', 'rotate', '--settle-ms', '0', ...flags]);
      expect(rotated.code, rotated.stderr).toBe(0);
      const newKek = /new KEK (\S+):/.exec(rotated.stdout)![1];
      expect((await custosCli(['keys', 'rotate-signing', '--as', 'adm-1', ...flags])).code).toBe(0);
      const exported = await custosCli(['ledger', 'export', '--as', 'dpo-1', ...flags]);
      expect(exported.code, exported.stderr).toBe(0);
      const refused = await custosCli(['ledger', 'export', '--as', 'agent-1', ...flags]);
      expect(refused.code).toBe(4);
      expect(refused.stdout).toBe('');

      const all = await events();
      const recorded = all.slice(before);
      expect(JSON.stringify(all)).not.toContain(token);
      expect(recorded.map((e) => [e.actor, e.target?.type, e.target?.id, e.operation, e.decision])).toEqual([
        ['adm-1', 'token', 'agent-1', 'issue', 'allow'],
        [host, 'key', 'kek', 'rotate', 'allow'],
        [host, 'key', 'kek', 'rotate', 'allow'],
        ['adm-1', 'key', 'signing', 'rotate', 'allow'],
        ['adm-1', 'key', 'signing', 'rotate', 'allow'],
        ['dpo-1', 'ledger', 'ledger', 'export', 'allow'],
        ['agent-1', 'ledger', 'ledger', 'export', 'deny'],
      ]);
      // --as names an employee nothing authenticates: the OS user who ran it is recorded beside.
      expect(recorded[0]!.details).toEqual({ ttlSeconds: 120, runBy: host });
      expect(recorded[2]!.details).toMatchObject({ newKekId: newKek, rewrapped: 2, customers: 2 });
      expect(recorded[5]!.details).toEqual({ from: 0, to: before + 5, runBy: host });
      // The export holds what was there before it was recorded.
      expect(exported.stdout.trim().split('\n')).toHaveLength(before + 5);

      // Verification covers the operator's entries like any other, with a checkpoint over them.
      const verified = await custosCli(['ledger', 'verify', ...flags]);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).not.toMatch(/after the latest checkpoint/);
    }, SLOW);

    it('fails with exit 8 and does nothing when the act cannot be recorded', async () => {
      await withStore(async (store) => {
        if (target.name === 'sqlite') {
          // In the ledger's own file, beside its table (custos-ledger.db, attached as `ledger`).
          await sql`CREATE TRIGGER ledger.ledger_full BEFORE INSERT ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger full'); END`.execute(store.db);
        } else {
          await sql`CREATE FUNCTION ledger_full() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'ledger full'; END $$ LANGUAGE plpgsql`.execute(store.db);
          await sql`CREATE TRIGGER ledger_full BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION ledger_full()`.execute(store.db);
        }
      });
      try {
        const more = file('unrecorded.jsonl', lines(customer(20)));
        const res = await custosCli(['import', 'customers', more, ...flags], { env: { CUSTOS_LEDGER_APPEND_TIMEOUT_MS: '5000' } });
        expect(res.code, res.stderr).toBe(8);
        expect(await withStore((s) => s.customers.exists('c-20'))).toBe(false);
        const token = await custosCli(['token', 'issue', '--employee', 'agent-1', ...flags]);
        expect(token.code).toBe(8);
        expect(token.stdout).toBe('');
      } finally {
        await withStore((store) => sql`DROP TRIGGER ledger_full${sql.raw(target.name === 'sqlite' ? '' : ' ON ledger_entries')}`.execute(store.db));
      }
    }, SLOW);
  });
}
