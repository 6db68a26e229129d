/**
 * An incident's customer notices over HTTP: queued, their outbox's status (counts and failures
 * with their last error) and one previewed, for privacy officers only, each call recorded in the
 * ledger; nothing for an incident not in the store or not yet assessed.
 */
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAccessEvent, type AccessEvent } from '../../src/model.ts';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { storeTargets } from '../support/stores.ts';

for (const target of storeTargets()) {
  describe(`incident notices over HTTP on ${target.name}`, () => {
    let inst: TestInstance;
    let dpo: string;
    let analyst: string;
    let id: string;
    const lastEvent = async (): Promise<AccessEvent> => {
      const size = await inst.custos.store.ledger.size();
      for await (const e of inst.custos.store.ledger.readEntries(size - 1, size)) return decodeAccessEvent(e.entry)!;
      throw new Error('empty ledger');
    };

    beforeAll(async () => {
      inst = await startInstance({ store: target.location(), customers: 60 });
      dpo = await inst.token('dpo-0001');
      analyst = await inst.token('sec-0001');
      const opened = await inst.call('POST', '/v1/incidents', {
        token: dpo,
        body: { title: 'Profile page bug', exposure: { customers: ['cus-000001', 'cus-000002', 'cus-000003'], fields: ['email', 'name'] }, from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' },
      });
      expect(opened.status, JSON.stringify(opened.body)).toBe(201);
      id = opened.body.id;
    }, 120_000);
    afterAll(async () => {
      await inst.stop();
      await target.cleanup();
    });

    it('queues nothing before the incident is assessed, nor for an incident that is not in the store, and records each refusal', async () => {
      const early = await inst.call('POST', `/v1/incidents/${id}/notices`, { token: dpo, body: {} });
      expect(early.status).toBe(409);
      expect(early.body.message).toBe(`incident "${id}" is open; its notices may be queued when it is assessing or notifying`);
      expect(await lastEvent()).toMatchObject({ actor: 'dpo-0001', decision: 'deny', reason: 'conflict', target: { type: 'incident', id } });
      for (const [method, path] of [['POST', '/notices'], ['GET', '/notices'], ['GET', '/notices/cus-000001']] as const) {
        const res = await inst.call(method, `/v1/incidents/inc-20260101-deadbeef${path}`, { token: dpo, ...(method === 'POST' ? { body: {} } : {}) });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(await lastEvent()).toMatchObject({ actor: 'dpo-0001', decision: 'deny', reason: 'not_found', target: { type: 'incident', id: 'inc-20260101-deadbeef' } });
      }
    });

    it('lets privacy officers alone queue, see and preview the notices, each call recorded', async () => {
      expect((await inst.call('POST', `/v1/incidents/${id}/transition`, { token: dpo, body: { to: 'assessing' } })).status).toBe(200);
      // A security analyst runs incidents, but does not tell customers.
      for (const [method, path] of [['POST', '/notices'], ['GET', '/notices'], ['GET', '/notices/cus-000001']] as const) {
        const res = await inst.call(method, `/v1/incidents/${id}${path}`, { token: analyst, ...(method === 'POST' ? { body: {} } : {}) });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.reason).toBe('not_permitted');
        expect(await lastEvent()).toMatchObject({ actor: 'sec-0001', decision: 'deny', reason: 'not_permitted', target: { type: 'incident', id } });
      }

      const queued = await inst.call('POST', `/v1/incidents/${id}/notices`, {
        token: dpo,
        body: { recipient: 'public', actions: ['exposure-fixed'], authorities: [{ name: 'Data Protection Commission', jurisdiction: 'IE' }], reference: 'REF-42' },
      });
      expect(queued.status, JSON.stringify(queued.body)).toBe(200);
      expect(queued.body).toEqual({ incident: id, queued: 3, already: 0, skipped: { unknown_customer: 0, canary: 0, no_email: 0 } });
      expect(await lastEvent()).toMatchObject({ actor: 'dpo-0001', decision: 'allow', target: { type: 'incident', id }, details: { recipient: 'public', actions: 'exposure-fixed' } });
      const bad = await inst.call('POST', `/v1/incidents/${id}/notices`, { token: dpo, body: { recipient: 'the press' } });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toContain('recipient');

      // One notice fails at the SMTP server: the status shows it with its last error.
      const outbox = inst.custos.store.noticeOutbox;
      const [row] = await outbox.claim(id, 'test', 1, Date.now(), 60_000);
      await outbox.markFailed(id, row!.customer, 'test', 'failed', '451: try again later', Date.now() + 60_000, Date.now());
      const status = await inst.call('GET', `/v1/incidents/${id}/notices`, { token: dpo });
      expect(status.status, JSON.stringify(status.body)).toBe(200);
      expect(status.body).toMatchObject({
        incident: id,
        state: 'assessing',
        counts: { queued: { total: 2, pending: 2 }, failed: { total: 1, pending: 1 }, sent: { total: 0, pending: 0 }, bounced: { total: 0, pending: 0 } },
        failures: [{ customer: row!.customer, state: 'failed', attempts: 1, lastError: '451: try again later', retryAt: expect.any(String) }],
      });
      expect(await lastEvent()).toMatchObject({ actor: 'dpo-0001', decision: 'allow', action: 'view', target: { type: 'incident', id } });

      const preview = await inst.call('GET', `/v1/incidents/${id}/notices/cus-000002`, { token: dpo });
      expect(preview.status, JSON.stringify(preview.body)).toBe(200);
      expect(preview.body).toMatchObject({ incident: id, customer: 'cus-000002', messageId: expect.stringMatching(/^<[0-9a-f]+@/) });
      expect(preview.body.message).toMatch(/^To: "?undisclosed-recipients"?:;\r$/m);
      const parsed = await simpleParser(preview.body.message);
      expect(parsed.messageId).toBe(preview.body.messageId);
      expect(parsed.subject).toBe(preview.body.subject);
      expect(parsed.text).toContain('REF-42');
      expect(await lastEvent()).toMatchObject({ actor: 'dpo-0001', decision: 'allow', target: { type: 'incident', id }, details: { customer: 'cus-000002' } });
      // A customer the incident did not affect: 404, recorded.
      const other = await inst.call('GET', `/v1/incidents/${id}/notices/cus-000010`, { token: dpo });
      expect(other.status).toBe(404);
      expect(await lastEvent()).toMatchObject({ decision: 'deny', reason: 'not_found', details: { customer: 'cus-000010' } });
    });

    it('describes the notices routes in the OpenAPI document', async () => {
      const doc = await inst.call('GET', '/docs/json');
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths['/v1/incidents/{id}/notices'])).toEqual(expect.arrayContaining(['post', 'get']));
      expect(doc.body.paths['/v1/incidents/{id}/notices/{customer}'].get.responses['200'].content['application/json'].schema.properties.message).toBeDefined();
      expect(doc.body.paths['/v1/incidents/{id}/notices'].post.requestBody.content['application/json'].schema.properties.recipient.enum).toEqual(['third-party', 'public', 'unknown']);
    });
  });
}
