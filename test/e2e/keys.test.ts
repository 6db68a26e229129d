/**
 * Key files and the store they belong to, through the real `custos` command: a store opened
 * with another deployment's key files is refused, a missing key file is never silently replaced
 * by a fresh ring once the store holds data, and `keys init` makes a ring only for an empty store.
 */
import { chmodSync, existsSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { custosCli } from '../support/cli.ts';
import { storeTargets } from '../support/stores.ts';
import { loadOrCreateTokenIssuer } from '../../src/identity/tokens.ts';
import { loadOrCreateSigningKeys } from '../../src/ledger/index.ts';

const customers = [1, 2, 3]
  .map((n) => JSON.stringify({ id: `c-${n}`, email: `person${n}@mail.example`, phone: `+39 312 345 100${n}`, name: `Person ${n}`, country: 'IT' }))
  .join('\n');

for (const target of storeTargets()) {
  describe(`key rings and stores, via the CLI, on ${target.name}`, () => {
    const work = mkdtempSync(join(tmpdir(), 'custos-keys-'));
    const file = join(work, 'customers.jsonl');
    writeFileSync(file, `${customers}\n`);
    // Store A with its key files in keysA; keysB belongs to another, empty store.
    const locA = target.location();
    const locB = target.location();
    const keysA = target.name === 'sqlite' && locA.dialect === 'sqlite' ? join(locA.file, '..') : mkdtempSync(join(tmpdir(), 'custos-keys-a-'));
    const keysB = target.name === 'sqlite' && locB.dialect === 'sqlite' ? join(locB.file, '..') : mkdtempSync(join(tmpdir(), 'custos-keys-b-'));
    const storeA = target.name === 'sqlite' ? ['--data', keysA] : ['--data', keysA, ...target.flags(locA)];
    const storeB = target.name === 'sqlite' ? ['--data', keysB] : ['--data', keysB, ...target.flags(locB)];
    let ringA = '';
    let ringB = '';

    afterAll(() => target.cleanup());

    beforeAll(async () => {
      const imported = await custosCli(['import', 'customers', file, ...storeA]);
      expect(imported.code, imported.stderr).toBe(0);
      const initB = await custosCli(['keys', 'init', ...storeB]);
      expect(initB.code, initB.stderr).toBe(0);
      ringA = JSON.parse((await custosCli(['keys', 'status', ...storeA])).stdout).ringId;
      ringB = JSON.parse((await custosCli(['keys', 'status', ...storeB])).stdout).ringId;
      expect(ringA).toMatch(/^ring-[0-9a-f]{16}$/);
      expect(ringB).toMatch(/^ring-[0-9a-f]{16}$/);
      expect(ringA).not.toBe(ringB);
    }, 120_000);

    it('keys status shows the ring, its KEKs, and the ring and KEK the store expects', async () => {
      const status = JSON.parse((await custosCli(['keys', 'status', ...storeA])).stdout);
      expect(status.store).toMatchObject({ ringId: ringA, currentKekId: status.currentKekId });
      expect(status.keks).toHaveLength(1);
    });

    it('refuses a store opened with another data directory\'s key files (exit 9), naming both rings', async () => {
      const env = { CUSTOS_KEY_DIR: keysB };
      for (const args of [['keys', 'status'], ['import', 'customers', file], ['serve', '--port', '0', '--no-demo']]) {
        const r = await custosCli([...args, ...storeA], { env });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(9);
        expect(r.stderr).toContain(`belongs to key ring ${ringA}`);
        expect(r.stderr).toContain(`has ring ${ringB}`);
      }
      // Nothing changed: store A still opens with its own keys.
      expect((await custosCli(['keys', 'status', ...storeA])).code).toBe(0);
    }, 120_000);

    it('never creates a fresh key ring for a store that holds data; names the missing file and the ring expected', async () => {
      const keyFile = join(keysA, 'custos-keys.json');
      renameSync(keyFile, `${keyFile}.away`);
      try {
        for (const args of [['import', 'customers', file], ['serve', '--port', '0', '--no-demo'], ['keys', 'init']]) {
          const r = await custosCli([...args, ...storeA]);
          expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(9);
          expect(r.stderr).toContain(`${keyFile}: no key file`);
          expect(r.stderr).toContain(`belongs to key ring ${ringA}`);
          expect(existsSync(keyFile)).toBe(false);
        }
      } finally {
        renameSync(`${keyFile}.away`, keyFile);
      }
      expect((await custosCli(['keys', 'status', ...storeA])).code).toBe(0);
    }, 120_000);

    it('keys init refuses when a key ring is already there', async () => {
      const r = await custosCli(['keys', 'init', ...storeA]);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain(`already holds key ring ${ringA}`);
    });

    it('refuses every key file group or others can read (exit 9), naming the file and chmod 600', async () => {
      // The token and ledger keys appear on first serve; make them here, as serve would.
      await loadOrCreateTokenIssuer(keysA);
      await loadOrCreateSigningKeys(keysA, { now: () => new Date() });
      for (const name of ['custos-keys.json', 'ledger-signing.json', 'token-signing.json']) {
        const path = join(keysA, name);
        expect(existsSync(path), path).toBe(true);
        chmodSync(path, 0o644);
        try {
          const r = await custosCli(['serve', '--port', '0', '--no-demo', ...storeA]);
          expect(r.code, `${name}: ${r.stderr}`).toBe(9);
          expect(r.stderr).toContain(`chmod 600 ${path}`);
        } finally {
          chmodSync(path, 0o600);
        }
      }
    }, 120_000);
  });
}
