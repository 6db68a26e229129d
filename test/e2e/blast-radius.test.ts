/**
 * Blast radius: complete, exact, and the same from the store (its access-event index) as from
 * the same events, customers and cases as files; through the library and the CLI, on both dialects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blastRadius, type BlastRadius } from '../../src/respond/blast-radius.ts';
import { fileDirectory, fileExposures, storeDirectory, storeExposures } from '../../src/respond/sources.ts';
import { Store } from '../../src/store/store.ts';
import { custosCli } from '../support/cli.ts';
import { respondFixture, type RespondFixture } from '../support/respond-fixture.ts';
import { storeTargets } from '../support/stores.ts';

for (const target of storeTargets()) {
  describe(`blast radius on ${target.name}`, () => {
    let fx: RespondFixture;
    beforeAll(async () => {
      fx = await respondFixture(target.location());
    }, 120_000);
    afterAll(() => target.cleanup());

    async function fromStore(window: { employee: string; from?: string; to?: string }): Promise<BlastRadius> {
      const store = await Store.open(fx.store);
      try {
        return await blastRadius(window, storeExposures(store, window), storeDirectory(store));
      } finally {
        await store.close();
      }
    }
    const fromFiles = (window: { employee: string; from?: string; to?: string }) =>
      blastRadius(window, fileExposures(fx.files.events, window), fileDirectory({ cases: fx.files.cases, customers: fx.files.customers }));

    it('counts every exposed customer with fields, times, events and accesses without a valid purpose', async () => {
      const window = { employee: fx.subject, from: fx.from, to: fx.to };
      const radius = await fromStore(window);
      const byId = new Map(radius.customers.map((c) => [c.customer, c]));
      // Open case twice (justified), a stranger (no purpose + a case about someone else), the
      // closed case, three exported customers; not the denial, the view, the other actor, the early reveal.
      expect(radius.total).toBe(6);
      expect(radius.events).toBe(6);
      const open = byId.get(fx.openCase.customer)!;
      expect(open).toMatchObject({ fields: ['email', 'phone'], events: 2, unjustified: 0, first: fx.events[0]!.time, last: fx.events[1]!.time });
      expect(byId.get(fx.events[2]!.customers[0]!)).toMatchObject({ fields: ['email', 'phone'], events: 2, unjustified: 2 });
      expect(byId.get(fx.closedCase.customer)).toMatchObject({ fields: ['email'], events: 1, unjustified: 1 });
      for (const c of fx.events[5]!.customers) expect(byId.get(c)).toMatchObject({ fields: ['email', 'phone'], events: 1, unjustified: 1 });
      expect(radius.unjustifiedCustomers).toBe(5);
      expect(radius.byField).toEqual({ email: 6, phone: 5 });
      expect(Object.values(radius.byCountry).reduce((a, b) => a + b, 0)).toBe(6);
      expect(radius.byCountry.unknown).toBeUndefined();
      // Without a window, the early reveal counts too.
      expect((await fromStore({ employee: fx.subject })).total).toBe(7);
    });

    it('equals the blast radius computed from the same records as files', async () => {
      for (const window of [{ employee: fx.subject, from: fx.from, to: fx.to }, { employee: fx.subject }, { employee: 'emp-0999' }]) {
        expect(await fromFiles(window)).toEqual(await fromStore(window));
      }
    });

    it('prints the same JSON from the CLI over the store (recorded, as a privacy officer) and over the files', async () => {
      const common = ['--employee', fx.subject, '--from', fx.from, '--to', fx.to, '--json'];
      const store = await custosCli(['blast-radius', ...common, ...fx.flags, '--as', 'dpo-0001']);
      expect(store.code, store.stderr).toBe(0);
      const files = await custosCli(['blast-radius', ...common, '--events', fx.files.events, '--customers', fx.files.customers, '--cases', fx.files.cases]);
      expect(files.code, files.stderr).toBe(0);
      expect(JSON.parse(files.stdout)).toEqual(JSON.parse(store.stdout));
      expect(JSON.parse(store.stdout).total).toBe(6);

      // An agent may not investigate; the refusal is recorded and nothing is printed.
      const agent = await custosCli(['blast-radius', ...common, ...fx.flags, '--as', 'emp-0002']);
      expect(agent.code).toBe(4);
      expect(agent.stdout).toBe('');
      const s = await Store.open(fx.store);
      try {
        const reads = (await s.accessEvents.byTime({ limit: 10_000 })).filter((e) => e.target?.type === 'employee' && e.target.id === fx.subject && e.operation === 'read');
        expect(reads.map((e) => [e.actor, e.decision])).toEqual([['dpo-0001', 'allow'], ['emp-0002', 'deny']]);
      } finally {
        await s.close();
      }
    }, 60_000);

    it('counts events other systems sent through ingest', async () => {
      const { writeFileSync } = await import('node:fs');
      const file = `${fx.files.events}.ingest`;
      const at = new Date(Date.now() - 60_000).toISOString(); // inside the window, and not ahead of the server's clock
      writeFileSync(file, `${JSON.stringify({ time: at, actor: fx.subject, action: 'export', customers: ['cus-000100'], fields: ['name'], decision: 'allow', channel: 'legacy-crm' })}\n`);
      const ingested = await custosCli(['ingest', 'events', file, '--source', 'legacy-crm', ...fx.flags, '--as', 'adm-0001']);
      expect(ingested.code, ingested.stderr).toBe(0);
      const radius = await fromStore({ employee: fx.subject, from: fx.from, to: fx.to });
      expect(radius.total).toBe(7);
      expect(radius.customers.find((c) => c.customer === 'cus-000100')).toMatchObject({ fields: ['name'], events: 1, unjustified: 1 });
    }, 60_000);

    it('names the file and line of a bad event', async () => {
      const { writeFileSync } = await import('node:fs');
      const bad = `${fx.files.events}.bad`;
      writeFileSync(bad, `${JSON.stringify(fx.events[0])}\n{"time":"2026-01-01T00:00:00Z","actor":"e-1","action":"peek","customers":[],"fields":[],"decision":"allow"}\n`);
      const res = await custosCli(['blast-radius', '--employee', fx.subject, '--events', bad, '--json']);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(`${bad}:2: field "action"`);
    }, 30_000);
  });
}
