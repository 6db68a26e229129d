/**
 * Containment across processes: an incident opened through one server suspends its subject,
 * and another server refuses the subject's next request, with a token issued before.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cliToken } from '../support/cli.ts';
import { twoServersOn, type ServerProcess } from '../support/server.ts';
import { storeTargets } from '../support/stores.ts';

async function call(url: string, bearer: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

const SERVER_ENV = { CUSTOS_LEDGER_APPEND_TIMEOUT_MS: '60000' };

for (const target of storeTargets()) {
  describe(`containment on ${target.name}`, () => {
    const servers: ServerProcess[] = [];
    afterAll(async () => {
      for (const s of servers) await s.stop();
      await target.cleanup();
    });

    it('a token issued before containment is refused by another server on its next request', async () => {
      const { flags, a, b } = await twoServersOn(target.location(), servers, SERVER_ENV);
      const [subject, officer] = [await cliToken(flags, 'emp-0001'), await cliToken(flags, 'dpo-0001')];
      const reveal = () => call(b.url, subject, 'POST', '/v1/customers/cus-000001/reveal', { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } });

      expect((await reveal()).status).toBe(200);
      const opened = await call(a.url, officer, 'POST', '/v1/incidents', { title: 'Reveals sold to a seller', employee: 'emp-0001' });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      expect(opened.body).toMatchObject({ state: 'contained', subject: 'emp-0001', kind: 'insider' });

      // The very next request, on the other server, with the token issued before.
      const refused = await reveal();
      expect(refused.status).toBe(403);
      expect(refused.body.reason).toBe('actor_suspended');
      expect((await call(b.url, subject, 'GET', '/v1/customers/cus-000002')).status).toBe(403);

      // The incident, from the other server, with its timeline.
      const shown = await call(b.url, officer, 'GET', `/v1/incidents/${opened.body.id}`);
      expect(shown.status).toBe(200);
      expect(shown.body.timeline.map((t: { kind: string }) => t.kind)).toEqual(['opened', 'containment']);
      // The subject cannot look at it, nor can an agent.
      expect((await call(b.url, await cliToken(flags, 'emp-0002'), 'GET', `/v1/incidents/${opened.body.id}`)).status).toBe(403);
      const radius = await call(a.url, officer, 'GET', `/v1/incidents/${opened.body.id}/blast-radius`);
      expect(radius.status).toBe(200);
      expect(radius.body.customers.map((c: { customer: string }) => c.customer)).toEqual(['cus-000001']);
    }, 240_000);
  });
}
