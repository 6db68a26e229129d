/**
 * No side door: every route the real server has — listed from the fastify instance itself, so a
 * hidden route counts too — is called as an admin with plausible parameters, and no response
 * but a reveal's may carry a customer's clear e-mail, phone or name. And no API module imports
 * the decryption module: clear values come from the broker alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/start.ts';
import { createLogger } from '../../src/log.ts';
import { demoCustomer } from '../../src/simulate/demo-org.ts';
import { demoEmployees } from '../../src/simulate/seed-demo.ts';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { storeTargets } from '../support/stores.ts';

const CUSTOMERS = 300;
const REVEAL_ROUTE = 'POST /v1/customers/:id/reveal';

interface Route {
  method: string;
  path: string;
}

/** Every route and method of `app`, read from fastify's own route tree (printRoutes). */
function routesOf(app: FastifyInstance): Route[] {
  const stack: string[] = [];
  const out: Route[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const at = line.search(/[^│├└─\s]/u);
    if (at < 0) continue;
    const m = /^(.*?)(?: \(([^)]*)\))?$/.exec(line.slice(at))!;
    const depth = at / 4;
    stack.length = depth;
    stack.push(m[1]!);
    const path = stack.join('').replace(/\/+/g, '/');
    for (const method of (m[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) out.push({ method, path });
  }
  return out;
}

const clear = demoCustomer(1);
const ID_FOR: Array<[RegExp, string]> = [[/^\/v1\/customers\//, 'cus-000001'], [/^\/v1\/employees\//, 'emp-0002'], [/^\/v1\/cases\//, 'case-000001']];

/** A plausible URL and body for a route: real ids, the demo customer's own e-mail and phone to search by. */
function requestFor(route: Route): { url: string; body?: unknown } {
  const id = ID_FOR.find(([re]) => re.test(route.path))?.[1] ?? 'cus-000001';
  let url = route.path.replace(/:[A-Za-z]+/g, id).replace('/*', '/index.html');
  const query: Record<string, string> = {
    '/v1/customers': `email=${encodeURIComponent(clear.email)}`,
    '/v1/ledger/proof/inclusion': 'index=0',
    '/v1/ledger/proof/consistency': 'from=1',
    '/v1/ledger/entries': 'from=0',
  };
  if (route.method === 'GET' && query[route.path]) url += `?${query[route.path]}`;
  if (route.method !== 'POST' && route.method !== 'PUT') return { url };
  const bodies: Record<string, unknown> = {
    'POST /v1/customers': { ...demoCustomer(CUSTOMERS + 1), id: 'cus-side-door' },
    'PUT /v1/customers/:id': { ...clear },
    'POST /v1/employees': { ...demoEmployees()[1], id: 'emp-side-door' },
    'PUT /v1/employees/:id': demoEmployees()[1],
    'POST /v1/cases': { id: 'case-side-door', employee: 'emp-0001', customer: 'cus-000001', openedAt: '2026-01-01T00:00:00Z', kind: 'refund' },
    'PUT /v1/cases/:id': { id: 'case-000001', employee: 'emp-0001', customer: 'cus-000001', openedAt: '2026-01-01T00:00:00Z', kind: 'refund' },
  };
  // Anything else gets what a reveal takes, which is what a side door would most likely accept.
  return { url, body: bodies[`${route.method} ${route.path}`] ?? { fields: ['email', 'phone', 'name'], purpose: { kind: 'case', ref: 'case-000001' } } };
}

/** Clear values of the demo customers that may not appear in a response (employee names aside: they are not customer PII). */
function clearValues(): string[] {
  const employeeNames = new Set(demoEmployees().map((e) => e.name));
  const values: string[] = [];
  for (let i = 1; i <= CUSTOMERS; i++) {
    const c = demoCustomer(i);
    values.push(c.email, c.phone, c.phone.slice(1));
    if (!employeeNames.has(c.name)) values.push(c.name);
  }
  return values;
}

/** `METHOD path: value` for each response that carries a clear value, reveals aside. */
async function leaks(app: FastifyInstance, token: string, statuses: string[] = []): Promise<string[]> {
  const values = clearValues();
  const found: string[] = [];
  for (const route of routesOf(app)) {
    if (`${route.method} ${route.path}` === REVEAL_ROUTE) continue;
    const { url, body } = requestFor(route);
    const res = await app.inject({
      method: route.method as 'GET',
      url,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    statuses.push(`${route.method} ${route.path} ${res.statusCode}`);
    const text = res.body;
    const hit = values.find((v) => text.includes(v));
    if (hit) found.push(`${route.method} ${route.path}: ${hit}`);
  }
  return found;
}

for (const target of storeTargets()) {
  describe(`no side door to clear values, on ${target.name}`, () => {
    let t: TestInstance;
    let admin: string;

    beforeAll(async () => {
      t = await startInstance({ store: target.location(), customers: CUSTOMERS });
      admin = await t.token('adm-0001');
    });
    afterAll(async () => {
      await t?.stop();
      await target.cleanup();
    });

    it('lists every route, hidden ones included', async () => {
      const routes = routesOf(t.app).map((r) => `${r.method} ${r.path}`);
      expect(routes).toEqual(expect.arrayContaining(['GET /healthz', 'GET /v1/customers/:id', REVEAL_ROUTE, 'GET /v1/ledger/entries', 'GET /docs/json']));
      const spec = (await t.call('GET', '/docs/json')).body as { paths: Record<string, Record<string, unknown>> };
      for (const [path, methods] of Object.entries(spec.paths)) {
        for (const method of Object.keys(methods)) expect(routes).toContain(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
      }
    });

    it('serves no clear e-mail, phone or name on any route but the reveal, even to an admin', async () => {
      const statuses: string[] = [];
      expect(await leaks(t.app, admin, statuses)).toEqual([]);
      // The calls are plausible: they are answered, not refused as malformed.
      for (const route of ['GET /v1/customers/:id', 'GET /v1/customers', 'PUT /v1/customers/:id', 'GET /v1/employees/:id', 'GET /v1/cases/:id', 'GET /v1/ledger/entries', 'GET /v1/ledger/proof/inclusion']) {
        expect(statuses).toContain(`${route} 200`);
      }
      expect(statuses).toContain('POST /v1/customers 201');
    }, 120_000);

    it('would catch a route that serves clear values without the broker', async () => {
      const app = await buildApi(t.custos, createLogger('silent'));
      app.post('/v1/bench/unguarded/:id', { schema: { hide: true } }, async () => ({ fields: { email: clear.email } }));
      try {
        expect(await leaks(app, admin)).toEqual([`POST /v1/bench/unguarded/:id: ${clear.email}`]);
      } finally {
        await app.close();
      }
    }, 120_000);
  });
}

describe('the API and the decryption module', () => {
  it('no module under src/api imports vault/decrypt.ts', () => {
    const dir = join(import.meta.dirname, '../../src/api');
    const importers = readdirSync(dir).filter((f) => /from\s+['"][^'"]*vault\/decrypt(\.ts)?['"]/.test(readFileSync(join(dir, f), 'utf8')));
    expect(importers).toEqual([]);
  });
});
