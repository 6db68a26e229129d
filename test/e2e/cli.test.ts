import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, custosCli } from '../support/cli.ts';
import { storeTargets } from '../support/stores.ts';
import { Store } from '../../src/store/store.ts';
import { generateNoteKey } from '../../src/ledger/index.ts';

describe('the custos command', () => {
  it('runs under another path, as npx and npm link run it (node_modules/.bin/custos)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-bin-'));
    mkdirSync(join(dir, '.bin'));
    symlinkSync(BIN, join(dir, '.bin', 'custos'));
    const r = await custosCli(['--version'], { bin: join(dir, '.bin', 'custos') });
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
  });
});

const lines = (...objects: unknown[]) => objects.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join('\n') + '\n';

const customer = (n: number, over: Record<string, unknown> = {}) => ({
  id: `c-${n}`,
  email: `person${n}@mail.example`,
  phone: `+39 312 345 ${String(1000 + n).padStart(4, '0')}`,
  name: `Person Number${n}`,
  country: 'IT',
  locale: 'it-IT',
  ...over,
});

// A test here runs up to fourteen CLI processes one after another: on a loaded machine that can
// take minutes, and the deadline only bounds a hang.
const MANY_PROCESSES = { timeout: 300_000 };

for (const target of storeTargets()) {
  describe(`custos CLI on ${target.name}`, MANY_PROCESSES, () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-cli-'));
    const loc = target.location();
    // The key files live in --data; the store is either SQLite there or PostgreSQL.
    const flags = target.name === 'sqlite' ? ['--data', join(loc.dialect === 'sqlite' ? loc.file : dir, '..')] : ['--data', dir, ...target.flags(loc)];
    const file = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };

    afterAll(() => target.cleanup());

    beforeAll(async () => {
      const employees = file('employees.jsonl', lines(
        { id: 'agent-1', name: 'Ann Agent', team: 'support', role: 'agent', location: 'Milan', hiredAt: '2024-01-01T00:00:00Z' },
        { id: 'admin-1', name: 'Ada Admin', team: 'ops', role: 'admin', location: 'Milan', hiredAt: '2024-01-01T00:00:00Z' },
      ));
      const res = await custosCli(['import', 'employees', employees, ...flags]);
      expect(res.code, res.stderr).toBe(0);
    });

    it('imports JSONL idempotently by id, and stops at a bad line naming file, line and field', async () => {
      const good = file('customers.jsonl', lines(customer(1), customer(2), '', customer(3)));
      const first = await custosCli(['import', 'customers', good, ...flags]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/imported 3 customers/);
      const again = await custosCli(['import', 'customers', good, ...flags]);
      expect(again.code).toBe(0);

      const bad = file('bad.jsonl', lines(customer(4), customer(5), { ...customer(6), email: undefined }, customer(7), '{"id": "c-8",'));
      const stopped = await custosCli(['import', 'customers', bad, ...flags]);
      expect(stopped.code).toBe(2);
      expect(stopped.stderr).toContain(`${bad}:3: field "email": is required`);
      expect(stopped.stderr).toMatch(/2 records before it were imported/);
      expect(stopped.stderr).not.toMatch(/\n\s+at /);

      const skipped = await custosCli(['import', 'customers', bad, '--skip-bad', ...flags]);
      expect(skipped.code).toBe(0);
      expect(skipped.stderr).toContain(`${bad}:3: field "email"`);
      expect(skipped.stderr).toContain(`${bad}:5: not valid JSON`);
      expect(skipped.stdout).toMatch(/imported 3 customers .* skipped 2 bad lines/);

      const store = await Store.open(loc);
      try {
        expect(await store.customers.count()).toBe(6);
      } finally {
        await store.close();
      }
    });

    it('imports CSV with a header, and checks that cases point at real records', async () => {
      const csv = file('more.csv', 'id,email,phone,name,country,vip\nc-20,twenty@mail.example,+12015550120,Twenty Person,US,true\nc-21,not-an-email,+12015550121,Bad Mail,US,false\n');
      const res = await custosCli(['import', 'customers', csv, ...flags]);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(`${csv}:3: field "email": is not an e-mail address`);
      const cases = file('cases.jsonl', lines(
        { id: 'k-1', employee: 'agent-1', customer: 'c-1', openedAt: '2026-01-01T00:00:00Z', kind: 'refund' },
        { id: 'k-2', employee: 'nobody', customer: 'c-1', openedAt: '2026-01-01T00:00:00Z', kind: 'refund' },
      ));
      const casesRes = await custosCli(['import', 'cases', cases, ...flags]);
      expect(casesRes.code).toBe(2);
      expect(casesRes.stderr).toContain(`${cases}:2: field "employee": no such employee`);
      expect(casesRes.stderr).not.toContain('nobody');
      expect((await custosCli(['import', 'planets', csv, ...flags])).code).toBe(2);
      expect((await custosCli(['import', 'customers', join(dir, 'missing.jsonl'), ...flags])).stderr).toMatch(/no such file/);
      expect((await custosCli(['import', 'customers', join(dir, 'x.txt'), ...flags])).stderr).toMatch(/--format/);
    });

    it('issues a token, shows masked and reveals through the broker, with the 403 reason as the exit', async () => {
      const issued = await custosCli(['token', 'issue', '--employee', 'agent-1', ...flags]);
      expect(issued.code, issued.stderr).toBe(0);
      const token = issued.stdout.trim().split('\n').at(-1)!;
      expect(token.split('.')).toHaveLength(3);
      expect((await custosCli(['token', 'issue', '--employee', 'ghost', ...flags])).code).toBe(5);

      const shown = await custosCli(['customers', 'show', 'c-1', '--token', token, ...flags]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout).fields.email).toBe('p***@m***.example');
      const found = await custosCli(['customers', 'find', '--email', 'PERSON2@mail.example', ...flags], { env: { CUSTOS_TOKEN: token } });
      expect(JSON.parse(found.stdout).map((c: { id: string }) => c.id)).toEqual(['c-2']);

      const revealed = await custosCli(['customers', 'reveal', 'c-1', '--fields', 'email,phone', '--case', 'k-1', '--token', token, ...flags]);
      expect(revealed.code, revealed.stderr).toBe(0);
      expect(JSON.parse(revealed.stdout).fields).toEqual({ email: 'person1@mail.example', phone: '+393123451001' });
      const denied = await custosCli(['customers', 'reveal', 'c-2', '--fields', 'email', '--token', token, ...flags]);
      expect(denied.code).toBe(4);
      expect(denied.stderr).toMatch(/no_purpose/);
      expect((await custosCli(['customers', 'show', 'c-1', ...flags])).code).toBe(3);
    });

    it('verifies the ledger, exports it for offline checks, and proves inclusion and consistency', async () => {
      const verified = await custosCli(['ledger', 'verify', ...flags]);
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/^ledger OK: \d+ entries/);
      const checkpoint = await custosCli(['ledger', 'checkpoint', ...flags]);
      expect(checkpoint.code).toBe(0);
      const cpFile = file('checkpoint.txt', checkpoint.stdout);
      const size = Number(checkpoint.stdout.split('\n')[1]);
      const key = (await custosCli(['ledger', 'key', ...flags])).stdout.trim().split('\n').at(-1)!;
      expect(key).toMatch(/^custos\/[0-9a-f]{8}\+[0-9a-f]{8}\+/);

      const exported = await custosCli(['ledger', 'export', ...flags]);
      expect(exported.stdout.trim().split('\n')).toHaveLength(size);
      const exportFile = file('export.jsonl', exported.stdout);
      const offline = await custosCli(['ledger', 'verify-export', exportFile, '--checkpoint', cpFile, '--key', key]);
      expect(offline.code, offline.stderr).toBe(0);
      const tampered = file('export-bad.jsonl', exported.stdout.replace(/"entry":"./, '"entry":"A'));
      expect((await custosCli(['ledger', 'verify-export', tampered, '--checkpoint', cpFile, '--key', key])).code).toBe(7);

      const proof = await custosCli(['ledger', 'prove', '--index', '0', '--size', String(size), ...flags]);
      const proofFile = file('proof.json', proof.stdout);
      const checked = await custosCli(['ledger', 'verify-proof', '--proof', proofFile, '--checkpoint', cpFile, '--key', key]);
      expect(checked.code, checked.stderr).toBe(0);
      expect(checked.stdout).toMatch(/inclusion proof OK/);
      // A valid key of another signer: the checkpoint carries no signature it knows.
      const otherKey = generateNoteKey(key.split('+')[0]!).verifierKey;
      const foreign = await custosCli(['ledger', 'verify-proof', '--proof', proofFile, '--checkpoint', cpFile, '--key', otherKey]);
      expect(foreign.code, foreign.stdout).toBe(7);
      expect((await custosCli(['ledger', 'prove', '--index', '999999', ...flags])).code).toBe(2);
      expect((await custosCli(['ledger', 'prove', ...flags])).code).toBe(2);
    });

    it('rotates the KEK while data stays readable, and the old KEK is destroyed', async () => {
      const rotated = await custosCli(['keys', 'rotate', '--settle-ms', '0', ...flags]);
      expect(rotated.code, rotated.stderr).toBe(0);
      expect(rotated.stdout).toMatch(/re-wrapped \d+ of \d+ data keys; retired kek-/);
      const status = JSON.parse((await custosCli(['keys', 'status', ...flags])).stdout);
      expect(status.keks.filter((k: { retiredAt?: string }) => !k.retiredAt)).toHaveLength(1);
      const token = (await custosCli(['token', 'issue', '--employee', 'agent-1', ...flags])).stdout.trim();
      const revealed = await custosCli(['customers', 'reveal', 'c-1', '--fields', 'email', '--case', 'k-1', '--token', token, ...flags]);
      expect(revealed.code, revealed.stderr).toBe(0);
      expect(JSON.parse(revealed.stdout).fields.email).toBe('person1@mail.example');
    });

    it('answers bad flags with a usage error, not a stack trace', async () => {
      const unknown = await custosCli(['serve', '--prot', '1']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/unknown option/);
      const badPort = await custosCli(['serve', '--port', 'eighty', ...flags]);
      expect(badPort.code).toBe(9);
      expect(badPort.stderr).toMatch(/--port must be a whole number/);
      const help = await custosCli(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/import/);
    });
  });
}
