import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.ts';
import { startInstance } from '../support/instance.ts';
import { rotateKeys, type RotationSummary } from '../../src/broker/key-rotation.ts';
import { storeCustomers } from '../../src/broker/customer-writes.ts';
import { vaultForStore } from '../../src/broker/key-ring-binding.ts';
import { importFile } from '../../src/importer/import-file.ts';
import { demoCustomer } from '../../src/simulate/demo-org.ts';
import { Store } from '../../src/store/store.ts';
import { openerFor } from '../../src/vault/decrypt.ts';
import { openVault, wrappedKekId } from '../../src/vault/index.ts';

async function waitFor(what: string, check: () => Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const target of storeTargets()) {
  describe(`KEK rotation under a running server on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('keeps reveals working through a rotation, and leaves every data key under the new KEK', async () => {
      const t = await startInstance({ store: target.location(), customers: 120 });
      try {
        const token = await t.token('emp-0001');
        const reveal = () => t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } } });
        expect((await reveal()).body.fields.email).toBe(demoCustomer(1).email);
        const before = t.custos.vault.currentKekId;
        // Another process (the CLI) rotates: its own view of the key file, the same store.
        const summary = await rotateKeys(t.custos.store, openVault({ dir: t.dataDir })!, { now: () => new Date(), settleMs: 0 });
        expect(summary.rewrapped).toBe(120);
        expect(summary.retired).toEqual([before]);
        const after = await reveal();
        expect(after.status, JSON.stringify(after.body)).toBe(200);
        expect(after.body.fields.email).toBe(demoCustomer(1).email);
        const keys = await t.custos.store.customers.wrappedKeysAfter('', 1000);
        expect(new Set(keys.map((k) => wrappedKekId(k.wrappedKey)))).toEqual(new Set([summary.newKekId]));
        // At once, not after a reload interval: the server's first write under the old KEK is
        // refused by the store's fence, and it re-reads the key file and seals again.
        const admin = await t.token('adm-0001');
        const created = await t.call('POST', '/v1/customers', { token: admin, body: { id: 'cus-after', email: 'after@mail.example', phone: '+14155550199', name: 'After Rotation', country: 'US' } });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        expect(wrappedKekId((await t.custos.store.customers.get('cus-after'))!.wrappedKey)).toBe(summary.newKekId);
        expect((await t.custos.store.keyRingIdentity.get())!.currentKekId).toBe(summary.newKekId);
      } finally {
        await t.stop();
      }
    });

    it('a rotation racing an import loses no customer, and destroys the old KEKs', async () => {
      const loc = target.location();
      const keyDir = mkdtempSync(join(tmpdir(), 'custos-race-'));
      const file = join(keyDir, 'customers.jsonl');
      const total = 300;
      writeFileSync(file, Array.from({ length: total }, (_, i) => JSON.stringify(demoCustomer(i + 1))).join('\n') + '\n');
      const now = () => new Date();
      // Two processes' worth: the importer, whose key ring is never re-read on a timer (as if its
      // once-a-second check had not come round yet), and the rotating CLI.
      const importerStore = await Store.open(loc);
      const rotatorStore = await Store.open(loc);
      try {
        const importerVault = await vaultForStore(importerStore, { keyDir, found: undefined, now, createIfEmpty: true, nowMs: () => 0 });
        const rotatorVault = openVault({ dir: keyDir })!;
        const firstKek = importerVault.currentKekId;
        const rotations: Array<Promise<RotationSummary>> = [];
        let batch = 0;
        const summary = await importFile(
          importerStore,
          async (inputs, at) => {
            batch++;
            if (batch === 3) {
              // The importer holds the old ring while a whole rotation runs and destroys the KEK
              // it is about to seal under: the store must refuse that batch, not lose it.
              await rotateKeys(rotatorStore, rotatorVault, { now, settleMs: 0 });
              expect(importerVault.currentKekId).toBe(firstKek);
            }
            if (batch === 6) {
              // And a rotation running alongside the following batches.
              rotations.push(rotateKeys(rotatorStore, rotatorVault, { now, settleMs: 0 }));
              await waitFor('the store to be fenced to the new KEK', async () => (await rotatorStore.keyRingIdentity.get())!.currentKekId !== importerVault.currentKekId);
            }
            await storeCustomers(importerStore, importerVault, inputs, at);
          },
          { kind: 'customers', file, skipBad: false, batchSize: 20, now },
        );
        const last = await Promise.all(rotations);
        expect(summary.imported).toBe(total);
        expect(await rotatorStore.customers.count()).toBe(total);

        // Every customer's data key opens under the ring as it is now, and is under its current KEK.
        const vault = openVault({ dir: keyDir })!;
        const opener = openerFor(vault);
        expect(vault.currentKekId).toBe(last[0]!.newKekId);
        const rows = await rotatorStore.customers.wrappedKeysAfter('', 10_000);
        expect(new Set(rows.map((r) => wrappedKekId(r.wrappedKey)))).toEqual(new Set([vault.currentKekId]));
        for (let i = 1; i <= total; i++) {
          const customer = (await rotatorStore.customers.get(`cus-${String(i).padStart(6, '0')}`))!;
          expect(opener.open(customer, ['email']).email).toBe(demoCustomer(i).email);
        }
        // Both older KEKs are destroyed: only the current one still has material.
        const keks = vault.status().keks;
        expect(keks).toHaveLength(3);
        expect(keks.filter((k) => k.retiredAt === undefined).map((k) => k.id)).toEqual([vault.currentKekId]);
        expect(keks.find((k) => k.id === firstKek)?.retiredAt).toBeDefined();
      } finally {
        await importerStore.close();
        await rotatorStore.close();
      }
    }, 120_000);
  });
}
