/**
 * An insider with database access edits the log: every edit is found by `ledger verify`,
 * on both dialects, with the first bad index and what is wrong.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { storeTargets } from '../support/stores.ts';
import { custosCli } from '../support/cli.ts';
import { buildLedger } from '../support/ledger.ts';
import { Store } from '../../src/store/store.ts';
import { verifyLedger } from '../../src/ledger/index.ts';

for (const target of storeTargets()) {
  describe(`ledger tampering on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    async function tampered(edit: (store: Store) => Promise<void>, trustedOf?: (t: string) => string) {
      const loc = target.location();
      const keyDir = mkdtempSync(join(tmpdir(), 'custos-tamper-'));
      const { keys, trusted } = await buildLedger(loc, keyDir);
      const store = await Store.open(loc);
      try {
        expect((await verifyLedger(store.ledger, keys.verifierKeys())).ok).toBe(true);
        await edit(store);
        return await verifyLedger(store.ledger, keys.verifierKeys(), trustedOf ? { trusted: trustedOf(trusted) } : {});
      } finally {
        await store.close();
      }
    }

    const entryOf = async (store: Store, idx: number) =>
      Buffer.from((await store.db.selectFrom('ledger_entries').select('entry').where('idx', '=', idx).executeTakeFirstOrThrow()).entry);

    it('finds one changed byte of an entry, at its index', async () => {
      const result = await tampered(async (store) => {
        const bytes = await entryOf(store, 41);
        const changed = Buffer.from(bytes.toString('utf8').replace('"email"', '"phone"'));
        await store.db.updateTable('ledger_entries').set({ entry: changed }).where('idx', '=', 41).execute();
      });
      expect(result).toMatchObject({ ok: false, index: 41 });
      if (!result.ok) expect(result.problem).toMatch(/entry 41/);
    });

    it('finds a changed entry that no checkpoint covers yet, through the stored tree', async () => {
      const result = await tampered(async (store) => {
        await store.db.deleteFrom('ledger_checkpoints').where('size', '=', 100).execute();
        const changed = Buffer.from((await entryOf(store, 99)).toString('utf8').replace('"email"', '"phone"'));
        await store.db.updateTable('ledger_entries').set({ entry: changed }).where('idx', '=', 99).execute();
      });
      expect(result).toMatchObject({ ok: false, index: 99 });
    });

    it('finds a deleted entry', async () => {
      const result = await tampered(async (store) => {
        await store.db.deleteFrom('ledger_entries').where('idx', '=', 41).execute();
      });
      expect(result).toMatchObject({ ok: false, index: 41 });
      if (!result.ok) expect(result.problem).toMatch(/missing/);
    });

    it('finds two swapped entries, at the first of them', async () => {
      const result = await tampered(async (store) => {
        const a = await entryOf(store, 10);
        const b = await entryOf(store, 20);
        await store.db.updateTable('ledger_entries').set({ entry: b }).where('idx', '=', 10).execute();
        await store.db.updateTable('ledger_entries').set({ entry: a }).where('idx', '=', 20).execute();
      });
      expect(result).toMatchObject({ ok: false, index: 10 });
    });

    it('finds an altered checkpoint', async () => {
      const result = await tampered(async (store) => {
        const row = await store.db.selectFrom('ledger_checkpoints').selectAll().where('size', '=', 50).executeTakeFirstOrThrow();
        const lines = row.note.split('\n');
        lines[1] = '51';
        await store.db.updateTable('ledger_checkpoints').set({ note: lines.join('\n') }).where('size', '=', 50).execute();
      });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problem).toMatch(/checkpoint at size 50/);
    });

    it('finds entries altered together with their tree nodes, through the signed checkpoints', async () => {
      const result = await tampered(async (store) => {
        // A careful insider also rewrites the leaf hash they would be caught by.
        const { leafHash } = await import('../../src/ledger/index.ts');
        const changed = Buffer.from((await entryOf(store, 30)).toString('utf8').replace('"allow"', '"deny"'));
        await store.db.updateTable('ledger_entries').set({ entry: changed }).where('idx', '=', 30).execute();
        await store.db.updateTable('ledger_nodes').set({ hash: leafHash(changed) }).where('level', '=', 0).where('idx', '=', 30).execute();
      });
      expect(result.ok).toBe(false);
    });

    it('finds a truncated log and its checkpoints removed, given a checkpoint an outsider kept', async () => {
      const result = await tampered(
        async (store) => {
          await store.db.deleteFrom('ledger_entries').where('idx', '>=', 60).execute();
          await store.db.deleteFrom('ledger_nodes').where(sql<boolean>`(idx + 1) * (1 << level) > 60`).execute();
          await store.db.deleteFrom('ledger_checkpoints').where('size', '>', 50).execute();
        },
        (trusted) => trusted,
      );
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problem).toMatch(/trusted checkpoint at size 75/);
    });

    it('makes `custos ledger verify` exit non-zero naming the first bad index', async () => {
      const loc = target.location();
      const keyDir = mkdtempSync(join(tmpdir(), 'custos-tamper-'));
      await buildLedger(loc, keyDir);
      const flags = ['--data', keyDir, ...(loc.dialect === 'postgres' ? target.flags(loc) : ['--store', `sqlite:${loc.file}`])];
      const ok = await custosCli(['ledger', 'verify', ...flags]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/^ledger OK: 100 entries/);
      const store = await Store.open(loc);
      await store.db.deleteFrom('ledger_entries').where('idx', '=', 7).execute();
      await store.close();
      const bad = await custosCli(['ledger', 'verify', ...flags]);
      expect(bad.code).toBe(7);
      expect(bad.stderr).toMatch(/ledger FAILED: entry 7/);
    });
  });
}
