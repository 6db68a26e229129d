/**
 * The customer-facing broker path over real HTTP, on both dialects: what each view, search and
 * reveal records, what a caller is told (and not told), and what never reaches the ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, importJWK } from 'jose';
import { storeTargets } from '../support/stores.ts';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { demoCustomer } from '../../src/simulate/demo-org.ts';
import { decodeAccessEvent, parseCustomer, type RecordedEvent } from '../../src/model.ts';
import { IntegrityError } from '../../src/errors.ts';

const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();
const linked = { kind: 'case', ref: 'case-000001' };

for (const target of storeTargets()) {
  describe(`the customer path, as recorded, on ${target.name}`, () => {
    let t: TestInstance;
    let agent: string;
    let suspended: string;
    let ghost: string;

    beforeAll(async () => {
      t = await startInstance({ store: target.location(), customers: 50 });
      const now = new Date();
      const seal = (input: Parameters<typeof t.custos.vault.sealCustomer>[0]) => t.custos.vault.sealCustomer(input);
      await t.custos.store.customers.upsertMany(
        [seal(parseCustomer({ id: 'cus-canary', email: 'bait@canary.example', phone: '+393123450000', name: 'Bait Record', country: 'IT', canary: true }))],
        now,
      );
      await t.custos.store.cases.upsertMany([{ id: 'case-canary', employee: 'emp-0001', customer: 'cus-canary', openedAt: hourAgo(), kind: 'refund' }], now);
      agent = await t.token('emp-0001');
      ghost = await t.token('ghost-1');
      suspended = await t.token('emp-0009');
      expect((await t.call('POST', '/v1/employees/emp-0009/suspend', { token: await t.token('adm-0001') })).status).toBe(200);
    });
    afterAll(async () => {
      await t?.stop();
      await target.cleanup();
    });

    const reveal = (token: string, id: string, body: unknown) => t.call('POST', `/v1/customers/${id}/reveal`, { token, body });
    const lastOf = async (actor: string): Promise<RecordedEvent> => (await t.custos.store.accessEvents.byActor(actor, { limit: 10_000 })).at(-1)!;
    /** Runs `call` and returns its response with the events it recorded (all of them, by any actor). */
    const recorded = async <R>(call: () => Promise<R>): Promise<{ res: R; events: RecordedEvent[] }> => {
      const before = await t.custos.store.ledger.size();
      const res = await call();
      const events = await t.custos.store.accessEvents.byTime({ afterSeq: before - 1, limit: 1000 });
      return { res, events };
    };

    it('records the target and operation of a view, a search and a reveal, and the fields asked for on a reveal, also on a deny', async () => {
      const view = await recorded(() => t.call('GET', '/v1/customers/cus-000002', { token: agent }));
      expect(view.res.status).toBe(200);
      expect(view.events).toEqual([expect.objectContaining({ action: 'view', operation: 'view', target: { type: 'customer', id: 'cus-000002' }, decision: 'allow', fields: [] })]);

      const search = await recorded(() => t.call('GET', `/v1/customers?email=${encodeURIComponent(demoCustomer(3).email)}`, { token: agent }));
      expect(search.res.body.customers.map((c: { id: string }) => c.id)).toEqual(['cus-000003']);
      expect(search.events).toEqual([
        expect.objectContaining({ action: 'search', operation: 'search', target: { type: 'directory', id: 'customers' }, customers: ['cus-000003'], search: { kind: 'email', hash: expect.stringMatching(/^[0-9a-f]{64}$/), hits: 1 } }),
      ]);

      const allowed = await recorded(() => reveal(agent, 'cus-000001', { fields: ['phone', 'email', 'phone'], purpose: linked }));
      expect(allowed.res.status).toBe(200);
      expect(allowed.events).toEqual([
        expect.objectContaining({ action: 'reveal', operation: 'reveal', target: { type: 'customer', id: 'cus-000001' }, requested: ['phone', 'email'], fields: ['phone', 'email'], decision: 'allow', purpose: linked }),
      ]);

      const denied = await recorded(() => reveal(agent, 'cus-000001', { fields: ['name', 'email'], purpose: linked }));
      expect(denied.res.body.reason).toBe('field_not_allowed');
      expect(denied.events).toEqual([
        expect.objectContaining({ operation: 'reveal', target: { type: 'customer', id: 'cus-000001' }, requested: ['name', 'email'], fields: [], decision: 'deny', reason: 'field_not_allowed' }),
      ]);
    });

    it('records a miss as not_found, yet tells a suspended or unknown actor the same whether or not the customer exists', async () => {
      const view = await recorded(() => t.call('GET', '/v1/customers/cus-nope', { token: agent }));
      expect(view.res.status).toBe(404);
      expect(view.events).toEqual([expect.objectContaining({ actor: 'emp-0001', operation: 'view', target: { type: 'customer', id: 'cus-nope' }, decision: 'deny', reason: 'not_found' })]);
      const rev = await recorded(() => reveal(agent, 'cus-nope', { fields: ['email'], purpose: linked }));
      expect(rev.res.status).toBe(404);
      expect(rev.events).toEqual([expect.objectContaining({ operation: 'reveal', requested: ['email'], fields: [], reason: 'not_found', purpose: linked })]);

      for (const [token, reason] of [[suspended, 'actor_suspended'], [ghost, 'actor_unknown']] as const) {
        const answers = [];
        for (const id of ['cus-000001', 'cus-nope']) {
          for (const call of [() => t.call('GET', `/v1/customers/${id}`, { token }), () => reveal(token, id, { fields: ['email'], purpose: linked }), () => reveal(token, id, { fields: ['shoeSize'], purpose: linked })]) {
            const { res, events } = await recorded(call);
            expect(res.status, `${reason} ${id}`).toBe(403);
            expect(events.map((e) => e.reason)).toEqual([reason]);
            answers.push(res.body);
          }
        }
        // Word for word the same for the customer that exists and the one that does not.
        expect(answers.slice(0, 3)).toEqual(answers.slice(3));
      }
    });

    it('judges an unknown field after the decision: the field list goes only to an actor who may reveal, and it is recorded as field_unknown', async () => {
      const mayReveal = await recorded(() => reveal(agent, 'cus-000001', { fields: ['email', 'shoeSize'], purpose: linked }));
      expect(mayReveal.res.status).toBe(400);
      expect(mayReveal.res.body).toMatchObject({ error: 'invalid_input', field: 'fields' });
      expect(mayReveal.res.body.message).toMatch(/"shoeSize" is not held.*it has .*email/);
      expect(mayReveal.events).toEqual([expect.objectContaining({ requested: ['email', 'shoeSize'], fields: [], decision: 'deny', reason: 'field_unknown' })]);

      // Not linked to this customer: the policy's refusal, and no list of what the record holds.
      const notLinked = await recorded(() => reveal(agent, 'cus-000005', { fields: ['email', 'shoeSize'], purpose: linked }));
      expect(notLinked.res.status).toBe(403);
      expect(notLinked.res.body.reason).toBe('purpose_not_linked');
      expect(JSON.stringify(notLinked.res.body)).not.toMatch(/shoeSize|it has|address/);
      expect(notLinked.events.map((e) => [e.reason, e.requested])).toEqual([['purpose_not_linked', ['email', 'shoeSize']]]);
    });

    it('answers a canary as it would an ordinary customer, and records canary', async () => {
      const situations: Array<[unknown, string]> = [
        [{ fields: ['email'] }, 'no_purpose'],
        [{ fields: ['email'], purpose: linked }, 'purpose_not_linked'],
        // A case that does link the agent to the canary (no legitimate one ever does).
        [{ fields: ['email'], purpose: { kind: 'case', ref: 'case-canary' } }, 'purpose_not_linked'],
      ];
      for (const [body, reason] of situations) {
        const canary = await recorded(() => reveal(agent, 'cus-canary', body));
        const ordinary = await reveal(agent, 'cus-000005', body);
        expect(canary.res.status).toBe(403);
        expect(canary.res.body.reason).toBe(reason);
        expect(canary.res.body).toEqual(ordinary.body);
        expect(JSON.stringify(canary.res.body)).not.toMatch(/canary|bait/i);
        expect(canary.events).toEqual([expect.objectContaining({ target: { type: 'customer', id: 'cus-canary' }, decision: 'deny', reason: 'canary', requested: ['email'], fields: [] })]);
      }
    });

    it('refuses a purpose that is not a case or a ref that is not an id, and bad text anywhere, with 400 naming the field and nothing recorded', async () => {
      const bad: Array<[string, string, { body?: unknown; rawBody?: string }, string]> = [
        ['POST', '/v1/customers/cus-000001/reveal', { body: { fields: ['email'], purpose: { kind: 'ticket', ref: 'T-1' } } }, 'purpose.kind'],
        ['POST', '/v1/customers/cus-000001/reveal', { body: { fields: ['email'], purpose: { kind: 'case', ref: 'case 1; drop' } } }, 'purpose.ref'],
        ['POST', '/v1/customers/cus-000001/reveal', { body: { fields: ['e-mail'], purpose: linked } }, 'fields.0'],
        ['POST', '/v1/customers/cus-000001/reveal', { rawBody: '{"fields":["email"],"purpose":{"kind":"case","ref":"case-\\ud800"}}' }, 'purpose.ref'],
        ['POST', '/v1/customers/cus-000001/reveal', { rawBody: '{"fields":["email","\\udc00x"],"purpose":{"kind":"case","ref":"case-000001"}}' }, 'fields.1'],
        ['POST', '/v1/customers/cus-000001/reveal', { rawBody: '{"fields":["email"],"purpose":{"kind":"case","ref":"case-000001","\\u202e":1}}' }, 'purpose.\\u202e'],
        ['POST', '/v1/customers/cus-000001/reveal', { body: { fields: ['em\u0000ail'], purpose: linked } }, 'fields.0'],
        ['GET', '/v1/customers?email=a%00b%40x.example', {}, 'email'],
        ['GET', '/v1/customers?phone=%2B39%E2%80%AE3123450000', {}, 'phone'],
        ['GET', '/v1/customers/cus-%E2%80%AE000001', {}, 'id'],
        ['POST', '/v1/customers/cus%E2%81%A6000001/reveal', { body: { fields: ['email'], purpose: linked } }, 'id'],
        // A route another plugin serves is covered the same way.
        ['POST', '/v1/cases', { body: { id: 'case-x', employee: 'emp-0001', customer: 'cus-000001', openedAt: hourAgo(), kind: 're\u200ffund' } }, 'kind'],
      ];
      for (const [method, path, opts, field] of bad) {
        const { res, events } = await recorded(() => t.call(method, path, { token: agent, ...opts }));
        expect(res.status, `${path} ${JSON.stringify(opts)}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(res.body).toMatchObject({ error: 'invalid_input', field });
        expect(events).toEqual([]);
      }
    });

    it('routes ids up to 128 characters, and refuses longer ones as input, not as a missing route', async () => {
      const long = `cus-${'x'.repeat(124)}`;
      const atLimit = await t.call('GET', `/v1/customers/${long}`, { token: agent });
      expect(atLimit.status).toBe(404);
      expect(atLimit.body.message).toContain('no customer');
      expect((await lastOf('emp-0001')).target).toEqual({ type: 'customer', id: long });
      const over = await t.call('GET', `/v1/customers/${long}y`, { token: agent });
      expect(over.status).toBe(400);
      expect(over.body.field).toBe('id');
    });

    it('accepts only a token whose subject is a string id: any other is 401 and acts as no one', async () => {
      const key = await importJWK(t.custos.tokenIssuer.privateJwk, 'EdDSA');
      const signed = (claims: Record<string, unknown>) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: t.custos.tokenIssuer.kid }).setIssuer('custos').setAudience('custos-api').setExpirationTime('10m').sign(key);
      for (const claims of [{ sub: ['emp-0001'] }, { sub: true }, { sub: 1 }, { sub: { id: 'emp-0001' } }, {}, { sub: 'emp\u202e0001' }]) {
        const { res, events } = await recorded(async () => t.call('POST', '/v1/customers/cus-000001/reveal', { token: await signed(claims), body: { fields: ['email'], purpose: linked } }));
        expect(res.status, JSON.stringify(claims)).toBe(401);
        expect(res.body.error).toBe('unauthenticated');
        expect(events).toEqual([]);
      }
    });

    it('indexes every ledger entry after a mixed workload, and stops at one that is not an access event', async () => {
      await Promise.all([
        t.call('GET', '/v1/customers/cus-000004', { token: agent }),
        t.call('GET', `/v1/customers?phone=${encodeURIComponent(demoCustomer(4).phone)}`, { token: agent }),
        reveal(agent, 'cus-000001', { fields: ['email'], purpose: linked }),
        reveal(ghost, 'cus-000001', { fields: ['email'] }),
        reveal(suspended, 'cus-nope', { fields: ['email'] }),
        t.call('GET', '/v1/customers/cus-nope', { token: agent }),
        t.call('GET', '/v1/ledger/checkpoint', { token: agent }),
      ]);
      const size = await t.custos.store.ledger.size();
      const all = await t.custos.store.accessEvents.byTime({ limit: 100_000 });
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: size }, (_, i) => i));
      expect(await t.custos.store.eventIndex.indexedThrough()).toBe(size);

      // Bad actors can no longer get such an entry recorded; one written behind the broker's back stops the index.
      await t.custos.appender.append(Buffer.from(JSON.stringify({ id: 'x', time: new Date().toISOString(), actor: ['emp-0001'], action: 'view', customers: [], fields: [], decision: 'allow' })));
      const err = await t.custos.store.accessEvents.byTime({ limit: 10 }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toContain(`access-event index: ledger entry ${size} is not an access event: "actor" is not a string`);
    });
  });

  describe(`search budgets on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('refuses searches past the role\'s search budget, records each with a probe hash and never the query, also after a restart', async () => {
      const store = target.location();
      const rolesPatch = (roles: any) => {
        roles.roles.agent.searchBudget = { perHour: 30, perDay: 60 };
      };
      const c = demoCustomer(7);
      let t = await startInstance({ store, customers: 20, rolesPatch });
      try {
        const token = await t.token('emp-0002');
        const statuses: number[] = [];
        for (let i = 0; i < 100; i++) {
          const res = await t.call('GET', `/v1/customers?phone=${encodeURIComponent(c.phone)}`, { token });
          statuses.push(res.status);
          if (res.status === 403) expect(res.body.reason).toBe('budget_exceeded');
        }
        expect(statuses.filter((s) => s === 200)).toHaveLength(30);
        expect(statuses.slice(30).every((s) => s === 403)).toBe(true);

        const events = await t.custos.store.accessEvents.byActor('emp-0002', { limit: 1000 });
        expect(events).toHaveLength(100);
        expect(events.filter((e) => e.reason === 'budget_exceeded')).toHaveLength(70);
        const hashes = new Set(events.map((e) => e.search?.hash));
        expect(hashes.size).toBe(1);
        const [hash] = hashes;
        expect(hash).toMatch(/^[0-9a-f]{64}$/);
        // Not joinable to the customers table: not the blind index of the number (or of anything stored).
        expect(hash).not.toBe(t.custos.vault.blindIndexPhone(c.phone));
        expect(hash).not.toBe(t.custos.vault.blindIndexEmail(c.email));
        expect(events[0]).toMatchObject({ decision: 'allow', search: { kind: 'phone', hits: events[0]!.customers.length } });
        expect(events[0]!.customers).toContain('cus-000007');
        expect(events.at(-1)).toMatchObject({ decision: 'deny', customers: [], search: { kind: 'phone', hash, hits: 0 } });
        // The ledger holds no form of the query.
        const national = c.phone.replace(/\D/g, '').slice(2);
        for await (const { entry } of t.custos.store.ledger.readEntries(0, await t.custos.store.ledger.size())) {
          const text = Buffer.from(entry).toString('utf8');
          expect(decodeAccessEvent(entry)).toBeDefined();
          expect(text).not.toContain(c.phone);
          expect(text).not.toContain(national);
          expect(text).not.toContain(t.custos.vault.blindIndexPhone(c.phone));
        }
        // Other searchers have their own budget.
        expect((await t.call('GET', `/v1/customers?phone=${encodeURIComponent(c.phone)}`, { token: await t.token('emp-0003') })).status).toBe(200);
      } finally {
        await t.stop();
      }
      // A restart does not hand out a fresh budget: the store still counts the searches.
      t = await startInstance({ store, customers: 20, rolesPatch, dataDir: t.dataDir });
      try {
        const res = await t.call('GET', `/v1/customers?email=${encodeURIComponent(c.email)}`, { token: await t.token('emp-0002') });
        expect(res.status).toBe(403);
        expect(res.body.reason).toBe('budget_exceeded');
        expect(res.body.message).toContain('search budget');
      } finally {
        await t.stop();
      }
    });
  });
}
