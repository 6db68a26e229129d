import { afterAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.ts';
import { startInstance } from '../support/instance.ts';
import type { RecordedEvent } from '../../src/model.ts';

for (const target of storeTargets()) {
  describe(`reveal budgets and the event stream on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('refuses reveals past the hourly budget with budget_exceeded, also after a restart', async () => {
      const store = target.location();
      const rolesPatch = (roles: any) => {
        roles.roles.agent.budget = { perHour: 3, perDay: 10 };
      };
      const reveal = { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } };
      let t = await startInstance({ store, customers: 50, rolesPatch });
      try {
        const token = await t.token('emp-0001');
        for (let i = 0; i < 3; i++) expect((await t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: reveal })).status).toBe(200);
        const over = await t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: reveal });
        expect(over.status).toBe(403);
        expect(over.body.reason).toBe('budget_exceeded');
        const denials = await t.custos.store.accessEvents.byActor('emp-0001', { limit: 10 });
        expect(denials.at(-1)).toMatchObject({ decision: 'deny', reason: 'budget_exceeded', fields: [] });
      } finally {
        await t.stop();
      }
      // A restart does not hand out a fresh budget: it is rebuilt from the recorded events.
      t = await startInstance({ store, dataDir: t.dataDir, customers: 50, rolesPatch });
      try {
        const token = await t.token('emp-0001');
        expect((await t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: reveal })).body.reason).toBe('budget_exceeded');
      } finally {
        await t.stop();
      }
    });

    it('publishes every recorded decision to the event stream, in ledger order', async () => {
      const t = await startInstance({ store: target.location(), customers: 50 });
      const seen: RecordedEvent[] = [];
      t.custos.stream.subscribe((events) => void seen.push(...events));
      try {
        const token = await t.token('emp-0001');
        await t.call('GET', '/v1/customers/cus-000002', { token });
        await t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: { fields: ['phone'], purpose: { kind: 'case', ref: 'case-000001' } } });
        await t.call('POST', '/v1/customers/cus-000001/reveal', { token, body: { fields: ['phone'] } });
        await new Promise((r) => setTimeout(r, 50));
        expect(seen.map((e) => [e.action, e.decision, e.reason ?? null])).toEqual([
          ['view', 'allow', null],
          ['reveal', 'allow', null],
          ['reveal', 'deny', 'no_purpose'],
        ]);
        expect(seen.map((e) => e.seq)).toEqual([0, 1, 2]);
        expect(seen[1]).toMatchObject({ actor: 'emp-0001', customers: ['cus-000001'], fields: ['phone'] });
      } finally {
        await t.stop();
      }
    });
  });
}
