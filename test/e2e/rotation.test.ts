import { afterAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.ts';
import { startInstance } from '../support/instance.ts';
import { rotateKeys } from '../../src/broker/key-rotation.ts';
import { demoCustomer } from '../../src/simulate/demo-org.ts';
import { loadKeyRing, wrappedKekId } from '../../src/vault/index.ts';

for (const target of storeTargets()) {
  describe(`KEK rotation under a running server on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('keeps reveals working through a rotation, and leaves every data key under the new KEK', async () => {
      const t = await startInstance({ store: target.location(), customers: 120 });
      try {
        const token = await t.token('emp-0001');
        const reveal = () => t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } } });
        expect((await reveal()).body.fields.email).toBe(demoCustomer(1).email);
        const before = t.custos.keyRing.current.currentKekId;
        // Another process (the CLI) rotates: its own view of the key file, the same store.
        const summary = await rotateKeys(t.custos.store, loadKeyRing({ dir: t.dataDir }), { now: () => new Date(), settleMs: 0 });
        expect(summary.rewrapped).toBe(120);
        expect(summary.retired).toEqual([before]);
        const after = await reveal();
        expect(after.status, JSON.stringify(after.body)).toBe(200);
        expect(after.body.fields.email).toBe(demoCustomer(1).email);
        const keys = await t.custos.store.customers.wrappedKeysAfter('', 1000);
        expect(new Set(keys.map((k) => wrappedKekId(k.wrappedKey)))).toEqual(new Set([summary.newKekId]));
        // New customers are sealed under the new KEK once the server has reloaded the ring.
        await new Promise((r) => setTimeout(r, 1100));
        const admin = await t.token('adm-0001');
        const created = await t.call('POST', '/v1/customers', { token: admin, body: { id: 'cus-after', email: 'after@mail.example', phone: '+14155550199', name: 'After Rotation', country: 'US' } });
        expect(created.status).toBe(201);
        expect(wrappedKekId((await t.custos.store.customers.get('cus-after'))!.wrappedKey)).toBe(summary.newKekId);
      } finally {
        await t.stop();
      }
    });
  });
}
