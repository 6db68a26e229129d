import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
import { storeTargets } from '../support/stores.ts';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { demoCustomer } from '../../src/simulate/demo-org.ts';
import { demoEmployees } from '../../src/simulate/seed-demo.ts';
import { parseCustomer } from '../../src/model.ts';
import { verifyConsistencyProofAgainstCheckpoints, verifyInclusionProofAgainstCheckpoint, parseProofJson } from '../../src/ledger/index.ts';

const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();

for (const target of storeTargets()) {
  describe(`HTTP API on ${target.name}`, () => {
    let t: TestInstance;
    let agent: string;
    let admin: string;

    beforeAll(async () => {
      // Checkpoints every 5 entries only, so when one is signed is up to the test, not the clock.
      t = await startInstance({ store: target.location(), customers: 300, env: { CUSTOS_CHECKPOINT_INTERVAL_MS: '86400000' } });
      const now = new Date();
      await t.custos.store.customers.upsertMany(
        [t.custos.vault.sealCustomer(parseCustomer({ id: 'cus-canary', email: 'bait@canary.example', phone: '+393123450000', name: 'Bait Record', country: 'IT', canary: true }))],
        now,
      );
      await t.custos.store.cases.upsertMany(
        [
          { id: 'case-closed', employee: 'emp-0001', customer: 'cus-000002', openedAt: hourAgo(), closedAt: new Date(Date.now() - 60_000).toISOString(), kind: 'refund' },
          { id: 'case-other', employee: 'emp-0002', customer: 'cus-000003', openedAt: hourAgo(), kind: 'refund' },
          { id: 'case-canary', employee: 'emp-0001', customer: 'cus-canary', openedAt: hourAgo(), kind: 'refund' },
          { id: 'case-inv', employee: 'inv-0001', customer: 'cus-000004', openedAt: hourAgo(), kind: 'fraud-review' },
        ],
        now,
      );
      agent = await t.token('emp-0001');
      admin = await t.token('adm-0001');
    });
    afterAll(async () => {
      await t?.stop();
      await target.cleanup();
    });

    const reveal = (token: string, id: string, body: unknown) => t.call('POST', `/v1/customers/${id}/reveal`, { token, body });

    it('serves health without a token and OpenAPI at /docs', async () => {
      expect((await t.call('GET', '/healthz')).body).toMatchObject({ status: 'ok', store: target.name });
      const spec = await t.call('GET', '/docs/json');
      expect(spec.status).toBe(200);
      expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/v1/customers/{id}', '/v1/customers/{id}/reveal', '/v1/ledger/checkpoint']));
    });

    it('has no checkpoint to serve before the checkpointer signed one, and asking does not sign one', async () => {
      expect(await t.custos.store.ledger.size()).toBe(0);
      const none = await t.call('GET', '/v1/ledger/checkpoint', { token: agent });
      expect(none.status).toBe(404);
      expect(none.body.message).toMatch(/no checkpoint has been signed yet/);
      expect(await t.custos.store.ledger.latestCheckpoint()).toBeUndefined();
    });

    it('answers 401 without a token, and for an expired, forged or foreign one', async () => {
      expect((await t.call('GET', '/v1/customers/cus-000001')).status).toBe(401);
      const valid = await t.token('emp-0001', 60);
      const forged = await t.call('GET', '/v1/customers/cus-000001', { token: `${valid.slice(0, -4)}AAAA` });
      expect(forged.status).toBe(401);
      expect(forged.body.error).toBe('unauthenticated');
      const other = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const foreign = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('adm-0001').setIssuer('custos').setAudience('custos-api').setExpirationTime('1h').sign(other.privateKey);
      expect((await t.call('GET', '/v1/customers/cus-000001', { token: foreign })).status).toBe(401);
      const jwk = t.custos.tokenIssuer.privateJwk;
      const { importJWK } = await import('jose');
      const key = await importJWK(jwk, 'EdDSA');
      const old = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: t.custos.tokenIssuer.kid }).setSubject('emp-0001').setIssuer('custos').setAudience('custos-api').setIssuedAt(1_700_000_000).setExpirationTime(1_700_000_060).sign(key);
      const expiredRes = await t.call('GET', '/v1/customers/cus-000001', { token: old });
      expect(expiredRes.status).toBe(401);
      expect(expiredRes.body.message).toMatch(/expired/);
    });

    it('shows a customer masked, never its canary flag', async () => {
      const res = await t.call('GET', '/v1/customers/cus-000001', { token: agent });
      expect(res.status).toBe(200);
      const clear = demoCustomer(1);
      expect(res.body.fields.email).toMatch(/^[a-z]\*\*\*@[a-z]\*\*\*\.example$/);
      expect(res.body.fields.phone).toMatch(/^\+\d+ \*\*\*-\*\*\*-\d{4}$/);
      expect(JSON.stringify(res.body)).not.toContain(clear.email);
      expect(JSON.stringify(res.body)).not.toContain(clear.name);
      const canary = await t.call('GET', '/v1/customers/cus-canary', { token: agent });
      expect(canary.status).toBe(200);
      expect(canary.body).not.toHaveProperty('canary');
      expect((await t.call('GET', '/v1/customers/nope', { token: agent })).status).toBe(404);
    });

    it('finds customers by e-mail and phone through blind indexes, masked', async () => {
      const c = demoCustomer(7);
      const byEmail = await t.call('GET', `/v1/customers?email=${encodeURIComponent(c.email.toUpperCase())}`, { token: agent });
      expect(byEmail.status).toBe(200);
      expect(byEmail.body.customers.map((x: { id: string }) => x.id)).toEqual(['cus-000007']);
      const byPhone = await t.call('GET', `/v1/customers?phone=${encodeURIComponent(c.phone)}`, { token: agent });
      expect(byPhone.body.customers.map((x: { id: string }) => x.id)).toContain('cus-000007');
      expect(JSON.stringify(byPhone.body)).not.toContain(c.phone);
      expect((await t.call('GET', '/v1/customers?email=x@y.example&phone=%2B15551234567', { token: agent })).status).toBe(400);
      expect((await t.call('GET', '/v1/customers', { token: agent })).body.field).toBe('email');
    });

    it('reveals for an open case assigned to the actor, and records the decision first', async () => {
      const before = await t.custos.store.ledger.size();
      const res = await reveal(agent, 'cus-000001', { fields: ['email', 'phone'], purpose: { kind: 'case', ref: 'case-000001' } });
      expect(res.status).toBe(200);
      const clear = demoCustomer(1);
      expect(res.body.fields).toEqual({ email: clear.email, phone: clear.phone });
      expect(res.body.seq).toBeGreaterThanOrEqual(before);
      const events = await t.custos.store.accessEvents.byCustomer('cus-000001', { limit: 100 });
      const recorded = events.find((e) => e.seq === res.body.seq);
      expect(recorded).toMatchObject({ actor: 'emp-0001', action: 'reveal', decision: 'allow', fields: ['email', 'phone'], purpose: { kind: 'case', ref: 'case-000001' }, channel: 'api' });
    });

    it('denies with each machine-readable reason, and records every denial', async () => {
      const cases: Array<[string, string, unknown, string]> = [
        [agent, 'cus-000001', { fields: ['email'] }, 'no_purpose'],
        [agent, 'cus-000003', { fields: ['email'], purpose: { kind: 'case', ref: 'case-other' } }, 'purpose_not_linked'],
        [agent, 'cus-000005', { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } }, 'purpose_not_linked'],
        [agent, 'cus-000001', { fields: ['email'], purpose: { kind: 'case', ref: 'no-such-case' } }, 'purpose_not_linked'],
        [agent, 'cus-000002', { fields: ['email'], purpose: { kind: 'case', ref: 'case-closed' } }, 'case_closed'],
        [agent, 'cus-000001', { fields: ['name'], purpose: { kind: 'case', ref: 'case-000001' } }, 'field_not_allowed'],
        // Recorded as canary; answered as an ordinary customer would be (record-customers.test.ts).
        [agent, 'cus-canary', { fields: ['email'], purpose: { kind: 'case', ref: 'case-canary' } }, 'purpose_not_linked'],
        [await t.token('ghost-1'), 'cus-000001', { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } }, 'actor_unknown'],
      ];
      for (const [token, id, body, reason] of cases) {
        const before = await t.custos.store.ledger.size();
        const res = await reveal(token, id, body);
        expect(res.status, `${reason}: ${JSON.stringify(res.body)}`).toBe(403);
        expect(res.body.reason).toBe(reason);
        expect(JSON.stringify(res.body)).not.toMatch(/@(mail|post|inbox|posta|courriel|correo|surel|correio|meru|canary)\.example/);
        expect(await t.custos.store.ledger.size()).toBe(before + 1);
      }
      const denials = await t.custos.store.accessEvents.byActor('emp-0001', { limit: 1000 });
      expect(denials.filter((e) => e.decision === 'deny').map((e) => e.reason)).toEqual(
        expect.arrayContaining(['no_purpose', 'purpose_not_linked', 'case_closed', 'field_not_allowed', 'canary']),
      );
    });

    it('lets an investigator reveal more fields than an agent', async () => {
      const inv = await t.token('inv-0001');
      const res = await reveal(inv, 'cus-000004', { fields: ['name', 'address'], purpose: { kind: 'case', ref: 'case-inv' } });
      expect(res.status).toBe(200);
      expect(res.body.fields.name).toBe(demoCustomer(4).name);
    });

    it('rejects bad bodies with 400 naming the field, never 500', async () => {
      const purpose = { kind: 'case', ref: 'case-000001' };
      const bad: Array<[unknown, string | undefined]> = [
        [{ fields: 'email', purpose }, 'fields'],
        [{ fields: [], purpose }, 'fields'],
        [{ fields: [42], purpose }, 'fields.0'],
        [{ purpose }, 'fields'],
        [{ fields: ['email'], purpose: { kind: 'case' } }, 'purpose.ref'],
        [{ fields: ['email'], purpose: { kind: 'ticket', ref: 'T-1' } }, 'purpose.kind'],
        [{ fields: ['email'], purpose, extra: 1 }, 'extra'],
        [{ fields: ['shoeSize'], purpose }, 'fields'],
        [['email'], undefined],
      ];
      for (const [body, field] of bad) {
        const res = await reveal(agent, 'cus-000001', body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error).toBe('invalid_input');
        if (field) expect(res.body.field).toBe(field);
      }
      const broken = await t.call('POST', '/v1/customers/cus-000001/reveal', { token: agent, rawBody: '{"fields": [' });
      expect(broken.status).toBe(400);
      const tooBig = await t.call('POST', '/v1/customers/cus-000001/reveal', { token: agent, rawBody: JSON.stringify({ fields: ['email'], pad: 'x'.repeat(2 * 1024 * 1024) }) });
      expect(tooBig.status).toBe(413);
    });

    it('fails closed: when the ledger cannot record, the reveal returns no data', async () => {
      // Every way a batch reaches storage (PostgreSQL appends under its sequencer).
      const ledger = t.custos.store.ledger as { appendBatch: unknown; appendSequenced?: unknown };
      const original = { appendBatch: ledger.appendBatch, appendSequenced: ledger.appendSequenced };
      const diskFull = async () => {
        throw new Error('disk full');
      };
      ledger.appendBatch = diskFull;
      if (original.appendSequenced) ledger.appendSequenced = diskFull;
      try {
        const res = await reveal(agent, 'cus-000001', { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } });
        expect(res.status).toBe(503);
        expect(res.body.error).toBe('unavailable');
        expect(JSON.stringify(res.body)).not.toContain(demoCustomer(1).email);
      } finally {
        Object.assign(ledger, original);
      }
      const again = await reveal(agent, 'cus-000001', { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } });
      expect(again.status).toBe(200);
    });

    it('manages records: admins create and suspend, agents may not; suspension takes effect at once', async () => {
      const body = { id: 'cus-new', email: 'new.person@mail.example', phone: '+14155550123', name: 'New Person', country: 'US', region: 'US-CA', loyaltyId: 'LOYAL-99125' };
      const created = await t.call('POST', '/v1/customers', { token: admin, body });
      expect(created.status).toBe(201);
      expect(created.body.fields.loyaltyId).toBe('L***');
      expect((await t.call('POST', '/v1/customers', { token: admin, body })).status).toBe(409);
      const forbidden = await t.call('POST', '/v1/customers', { token: agent, body: { ...body, id: 'cus-agent' } });
      expect(forbidden.status).toBe(403);
      const badPhone = await t.call('POST', '/v1/customers', { token: admin, body: { ...body, id: 'cus-bad', phone: 'call me' } });
      expect(badPhone.status).toBe(400);
      expect(badPhone.body.field).toBe('phone');
      const badRegion = await t.call('POST', '/v1/customers', { token: admin, body: { ...body, id: 'cus-bad', region: 'FR-75' } });
      expect(badRegion.body.field).toBe('region');

      const opened = await t.call('POST', '/v1/cases', { token: await t.token('sup-0001'), body: { id: 'case-new', employee: 'emp-0003', customer: 'cus-new', kind: 'delivery' } });
      expect(opened.status).toBe(201);
      const emp3 = await t.token('emp-0003');
      const ok = await reveal(emp3, 'cus-new', { fields: ['phone'], purpose: { kind: 'case', ref: 'case-new' } });
      expect(ok.body.fields).toEqual({ phone: '+14155550123' });
      expect((await t.call('POST', '/v1/employees/emp-0003/suspend', { token: admin })).status).toBe(200);
      const suspended = await reveal(emp3, 'cus-new', { fields: ['phone'], purpose: { kind: 'case', ref: 'case-new' } });
      expect(suspended.status).toBe(403);
      expect(suspended.body.reason).toBe('actor_suspended');
      expect((await t.call('GET', '/v1/customers/cus-new', { token: emp3 })).status).toBe(403);

      const closed = await t.call('POST', '/v1/cases/case-new/close', { token: admin });
      expect(closed.status).toBe(200);
      expect((await t.call('POST', '/v1/cases/case-new/close', { token: admin })).status).toBe(409);
      expect((await t.call('DELETE', '/v1/customers/cus-new', { token: admin })).status).toBe(204);
      expect((await t.call('GET', '/v1/customers/cus-new', { token: admin })).status).toBe(404);
    });

    it('serves the checkpointer\'s checkpoints and proofs that verify against them, each proof read recorded', async () => {
      const cp = await t.call('GET', '/v1/ledger/checkpoint', { token: agent });
      expect(cp.status, JSON.stringify(cp.body)).toBe(200);
      const size: number = cp.body.size;
      expect(size).toBeGreaterThan(5);
      // Asking again signs nothing new: only the checkpointer signs (every 5 entries here).
      expect((await t.call('GET', '/v1/ledger/checkpoint', { token: agent })).body.checkpoint).toBe(cp.body.checkpoint);
      const keys: string[] = cp.body.verifierKeys;
      const inc = await t.call('GET', `/v1/ledger/proof/inclusion?index=3&size=${size}`, { token: agent });
      expect(inc.status, JSON.stringify(inc.body)).toBe(200);
      const proof = parseProofJson(JSON.stringify(inc.body));
      expect(() => verifyInclusionProofAgainstCheckpoint(proof as never, cp.body.checkpoint, keys)).not.toThrow();
      const proofRead = (await t.custos.store.accessEvents.byActor('emp-0001', { limit: 1000 })).at(-1);
      expect(proofRead).toMatchObject({ action: 'export', operation: 'read', target: { type: 'ledger', id: 'ledger' }, decision: 'allow', channel: 'api', details: { proof: 'inclusion', index: 3, size } });

      for (let i = 0; i < 5; i++) await reveal(agent, 'cus-000001', { fields: ['email'], purpose: { kind: 'case', ref: 'case-000001' } });
      let cp2 = cp;
      for (const deadline = Date.now() + 30_000; cp2.body.size === size && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 50));
        cp2 = await t.call('GET', '/v1/ledger/checkpoint', { token: agent });
      }
      expect(cp2.body.size).toBeGreaterThan(size);
      const cons = await t.call('GET', `/v1/ledger/proof/consistency?from=${size}&to=${cp2.body.size}`, { token: agent });
      expect(() => verifyConsistencyProofAgainstCheckpoints(parseProofJson(JSON.stringify(cons.body)) as never, cp.body.checkpoint, cp2.body.checkpoint, keys)).not.toThrow();
      expect((await t.call('GET', `/v1/ledger/proof/inclusion?index=${size + 1000}`, { token: agent })).status).toBe(400);
      expect((await t.call('GET', '/v1/ledger/proof/inclusion?index=abc', { token: agent })).status).toBe(400);
    });

    it('serves raw entries to ledger readers only, and records every read, allowed or denied', async () => {
      const denied = await t.call('GET', '/v1/ledger/entries?from=0&to=2', { token: agent });
      expect(denied.status).toBe(403);
      expect(denied.body.reason).toBe('not_permitted');
      const deniedRead = (await t.custos.store.accessEvents.byActor('emp-0001', { limit: 1000 })).at(-1);
      expect(deniedRead).toMatchObject({ action: 'export', operation: 'read', target: { type: 'ledger', id: 'ledger' }, decision: 'deny', reason: 'not_permitted', details: { from: 0, to: 2 } });

      const dpo = await t.token('dpo-0001');
      const before = await t.custos.store.ledger.size();
      const entries = await t.call('GET', '/v1/ledger/entries?from=0&to=2', { token: dpo });
      expect(entries.status).toBe(200);
      expect(entries.body.entries).toHaveLength(2);
      const first = JSON.parse(Buffer.from(entries.body.entries[0].entry, 'base64').toString('utf8'));
      expect(first).toHaveProperty('actor');
      expect(await t.custos.store.ledger.size()).toBe(before + 1);
      const read = (await t.custos.store.accessEvents.byActor('dpo-0001', { limit: 10 })).at(-1);
      expect(read).toMatchObject({ action: 'export', operation: 'read', target: { type: 'ledger', id: 'ledger' }, decision: 'allow', channel: 'api', details: { from: 0, to: 2 } });
    });

    if (target.name === 'sqlite') {
      it('leaves no imported e-mail, phone or name readable in the store files', async () => {
        const loc = t.custos.store.location;
        const dir = loc.dialect === 'sqlite' ? join(loc.file, '..') : t.dataDir;
        // The records' database, the ledger's and the access-event index's, with their WAL files.
        const files = readdirSync(dir).filter((f) => /^custos(-index|-ledger)?\.db/.test(f));
        expect(files).toEqual(expect.arrayContaining(['custos.db', 'custos-ledger.db', 'custos-index.db']));
        const bytes = Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
        const haystack = bytes.toString('latin1');
        // Employee names are not customer PII and are stored in clear; the demo reuses name lists.
        const employeeNames = new Set(demoEmployees().map((e) => e.name));
        for (let i = 1; i <= 300; i++) {
          const c = demoCustomer(i);
          for (const value of [c.email, c.phone, c.phone.slice(1), ...(employeeNames.has(c.name) ? [] : [c.name])]) {
            expect(haystack.includes(Buffer.from(value, 'utf8').toString('latin1')), `${value} found in the store`).toBe(false);
          }
        }
      });
    }
  });
}
