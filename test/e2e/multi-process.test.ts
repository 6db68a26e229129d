/**
 * Custos as several processes on one store: two API servers and the CLI share one reveal
 * budget and one ledger; on PostgreSQL a server killed mid-load leaves the other serving.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.ts';
import { cliToken, custosCli } from '../support/cli.ts';
import { twoServersOn, type ServerProcess } from '../support/server.ts';
import { Store, type StoreLocation } from '../../src/store/store.ts';
import { decodeAccessEvent } from '../../src/model.ts';

const revealBody = JSON.stringify({ fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } });

async function reveal(url: string, bearer: string): Promise<{ status: number; reason?: string }> {
  const res = await fetch(`${url}/v1/customers/cus-000001/reveal`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: revealBody,
  });
  const body = (await res.json()) as { reason?: string };
  return { status: res.status, ...(body.reason ? { reason: body.reason } : {}) };
}

// This machine may be loaded far beyond its cores while the suite runs; a ledger append that
// waits on the CPU rather than on another writer must not be what fails here.
const SERVER_ENV = { CUSTOS_LEDGER_APPEND_TIMEOUT_MS: '60000' };

for (const target of storeTargets()) {
  describe(`several processes on one ${target.name} store`, () => {
    const servers: ServerProcess[] = [];
    /** A fresh store, the demo organisation in it, and two servers on it. */
    async function twoServers(): Promise<{ loc: StoreLocation; flags: string[]; a: ServerProcess; b: ServerProcess }> {
      const loc = target.location();
      return { loc, ...(await twoServersOn(loc, servers, SERVER_ENV)) };
    }
    afterAll(async () => {
      for (const s of servers) await s.stop();
      await target.cleanup();
    });

    it('serves from two processes and the CLI with one ledger that verifies, gap-free in the index', async () => {
      const { loc, flags, a, b } = await twoServers();
      const viewers = await Promise.all(['emp-0002', 'emp-0003', 'emp-0004', 'emp-0005'].map((e) => cliToken(flags, e)));

      // Views from both servers at once: every one recorded, none failed for contention.
      const statuses = await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          fetch(`${[a, b][i % 2]!.url}/v1/customers/cus-${String((i % 300) + 1).padStart(6, '0')}`, {
            headers: { authorization: `Bearer ${viewers[i % viewers.length]}` },
          }).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s !== 200), a.stderr() + b.stderr()).toEqual([]);

      await a.stop();
      await b.stop();
      const verified = await custosCli(['ledger', 'verify', ...flags]);
      expect(verified.code, verified.stderr).toBe(0);
      const store = await Store.open(loc);
      try {
        const size = await store.ledger.size();
        expect(size).toBeGreaterThanOrEqual(400);
        await store.eventIndex.catchUp();
        expect(await store.eventIndex.indexedThrough()).toBe(size);
        let views = 0;
        for await (const e of store.ledger.readEntries(0, size)) if (decodeAccessEvent(e.entry)?.action === 'view') views++;
        expect(views).toBe(400);
      } finally {
        await store.close();
      }
    }, 300_000);

    it('shares one reveal budget among two servers and the CLI: exactly the budget is allowed, every reveal recorded', async () => {
      const { loc, flags, a, b } = await twoServers();
      const agent = await cliToken(flags, 'emp-0001');
      // Agents may reveal 60 an hour (policies/roles.json): 70 over HTTP from both servers and
      // 4 from the CLI, all at once.
      const [http, cli] = await Promise.all([
        Promise.all(Array.from({ length: 70 }, (_, i) => reveal([a, b][i % 2]!.url, agent))),
        Promise.all(Array.from({ length: 4 }, () => custosCli(['customers', 'reveal', 'cus-000001', '--fields', 'email', '--case', 'case-000001', '--token', agent, ...flags]))),
      ]);
      const allowed = http.filter((r) => r.status === 200).length + cli.filter((r) => r.code === 0).length;
      const overBudget = http.filter((r) => r.reason === 'budget_exceeded').length + cli.filter((r) => r.code === 4 && /budget_exceeded/.test(r.stderr)).length;
      expect(allowed).toBe(60);
      expect(overBudget).toBe(14);
      await a.stop();
      await b.stop();
      const store = await Store.open(loc);
      try {
        const recorded = { allow: 0, budget_exceeded: 0 };
        for await (const e of store.ledger.readEntries(0, await store.ledger.size())) {
          const event = decodeAccessEvent(e.entry);
          if (event?.actor !== 'emp-0001' || event.action !== 'reveal') continue;
          if (event.decision === 'allow') recorded.allow++;
          else if (event.reason === 'budget_exceeded') recorded.budget_exceeded++;
        }
        expect(recorded).toEqual({ allow: 60, budget_exceeded: 14 });
      } finally {
        await store.close();
      }
    }, 300_000);

    if (target.name === 'postgres') {
      it('keeps serving without a 5xx when the other server is killed mid-load', async () => {
        const { loc, flags, a, b } = await twoServers();
        const viewer = await cliToken(flags, 'emp-0002');
        const view = (url: string, i: number) =>
          fetch(`${url}/v1/customers/cus-${String((i % 300) + 1).padStart(6, '0')}`, { headers: { authorization: `Bearer ${viewer}` } });

        // Load on both; B is killed (SIGKILL) once both have served for a while.
        const survivorStatuses: number[] = [];
        let killed = false;
        let stopLoad = false;
        const survivorLoad = (async () => {
          for (let i = 0; !stopLoad; i++) {
            const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => view(a.url, i * 20 + j).then((r) => r.status)));
            survivorStatuses.push(...batch);
          }
        })();
        const victimLoad = (async () => {
          for (let i = 0; !killed; i++) {
            await Promise.all(Array.from({ length: 20 }, (_, j) => view(b.url, i * 20 + j).catch(() => undefined)));
          }
        })();
        await expect.poll(() => survivorStatuses.length, { timeout: 60_000, interval: 50 }).toBeGreaterThan(500);
        b.child.kill('SIGKILL');
        killed = true;
        const atKill = survivorStatuses.length;
        await expect.poll(() => survivorStatuses.length, { timeout: 60_000, interval: 50 }).toBeGreaterThan(atKill + 500);
        stopLoad = true;
        await Promise.all([survivorLoad, victimLoad]);
        expect(survivorStatuses.filter((s) => s !== 200)).toEqual([]);

        await a.stop();
        const verified = await custosCli(['ledger', 'verify', ...flags]);
        expect(verified.code, verified.stderr).toBe(0);
        const store = await Store.open(loc);
        try {
          await store.eventIndex.catchUp();
          expect(await store.eventIndex.indexedThrough()).toBe(await store.ledger.size());
        } finally {
          await store.close();
        }
      }, 300_000);
    }
  });
}
