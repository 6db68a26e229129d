/**
 * The alerts API as analysts use it: pseudonymised alerts, filtered and paged; state changes
 * and the unmasking of a subject decided by Cedar and recorded in the ledger before the answer;
 * denials recorded too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { storeTargets } from '../support/stores.ts';
import { decodeAccessEvent, type AccessEvent, type Employee } from '../../src/model.ts';
import type { Alert } from '../../src/detect/alert.ts';

const SLOW = 240_000;
const staff = (id: string, role: string): Employee => ({ id, name: `Name ${id}`, team: 'security', role, location: 'Milan', hiredAt: '2024-01-01T00:00:00.000Z', status: 'active' });

function alert(id: string, employee: string, detectedAt: string, over: Partial<Alert> = {}): Alert {
  return {
    id, employee, score: 70, severity: 'high', detectedAt, firstEventAt: detectedAt, updatedAt: detectedAt,
    detectors: [{ name: 'volume', score: 70, evidence: { summary: `revealed 46 distinct customers; ${employee} usually 6`, counts: { distinctCustomers: 46 }, baseline: { ownMedian: 6 }, samples: [{ id: 'ev-1', seq: 2, time: detectedAt }] } }],
    explanation: `The employee ${employee} revealed many more customers than usual.`, state: 'open', ...over,
  };
}

for (const target of storeTargets()) {
  describe(`alerts over HTTP on ${target.name}`, () => {
    let t: TestInstance;
    let analyst: string;
    let officer: string;
    let agent: string;

    beforeAll(async () => {
      t = await startInstance({ store: target.location(), customers: 30 });
      await t.custos.store.employees.upsertMany([staff('sec-0001', 'security_analyst'), staff('sec-0002', 'security_analyst')], new Date());
      const batch = [
        alert('al-1', 'emp-0001', '2026-03-01T09:00:00.000Z', { severity: 'medium', score: 55 }),
        alert('al-2', 'emp-0002', '2026-03-02T09:00:00.000Z', { severity: 'critical', score: 100 }),
        alert('al-3', 'emp-0001', '2026-03-03T09:00:00.000Z'),
        alert('al-4', 'emp-0003', '2026-03-04T09:00:00.000Z'),
        alert('al-own', 'sec-0001', '2026-03-05T09:00:00.000Z'),
      ];
      await t.custos.store.alerts.saveDetections('test', batch.map((a, i) => ({ alert: a, seq: 100 + i })), 200, new Date());
      analyst = await t.token('sec-0001');
      officer = await t.token('dpo-0001');
      agent = await t.token('emp-0005');
    }, SLOW);
    afterAll(async () => {
      await t?.stop();
      await target.cleanup();
    });

    /** The ledger entries a request recorded, and its answer. */
    async function recorded(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any; events: AccessEvent[] }> {
      const from = await t.custos.store.ledger.size();
      const res = await t.call(method, path, { token, ...(body !== undefined ? { body } : {}) });
      const events: AccessEvent[] = [];
      for await (const e of t.custos.store.ledger.readEntries(from, await t.custos.store.ledger.size())) events.push(decodeAccessEvent(e.entry)!);
      return { ...res, events };
    }

    it('lists alerts newest first, pseudonymised, never the asker’s own, paged, and records the read', async () => {
      const first = await recorded('GET', '/v1/alerts?limit=2', analyst);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.alerts.map((a: any) => a.id)).toEqual(['al-4', 'al-3']);
      expect(first.body.next).toBe('al-3');
      const shown = JSON.stringify(first.body);
      expect(shown).not.toContain('emp-0001');
      expect(shown).not.toContain('emp-0003');
      expect(first.body.alerts[1].employee).toMatch(/^S-[0-9A-F]{10}$/);
      expect(first.body.alerts[1].explanation).toBe(`The employee ${first.body.alerts[1].employee} revealed many more customers than usual.`);
      expect(first.body.alerts[1].detectors[0]).toMatchObject({ name: 'volume', score: 70, evidence: { counts: { distinctCustomers: 46 }, baseline: { ownMedian: 6 }, samples: [{ id: 'ev-1', seq: 2 }] } });
      expect(first.events.map((e) => [e.actor, e.decision, e.operation, e.target?.type])).toEqual([
        ['sec-0001', 'allow', 'read', 'directory'],
        ['sec-0001', 'allow', 'read', 'directory'],
      ]);
      expect(first.events[1]!.details).toMatchObject({ limit: 2, returned: 2 });

      const second = await t.call('GET', `/v1/alerts?limit=2&after=${first.body.next}`, { token: analyst });
      expect(second.body.alerts.map((a: any) => a.id)).toEqual(['al-2', 'al-1']);
      expect(second.body.next).toBeUndefined();
    });

    it('filters by state, severity, subject alias and time', async () => {
      const ids = async (q: string) => (await t.call('GET', `/v1/alerts?${q}`, { token: officer })).body.alerts.map((a: any) => a.id);
      expect(await ids('severity=critical')).toEqual(['al-2']);
      const alias = (await t.call('GET', '/v1/alerts/al-1', { token: analyst })).body.employee;
      expect(await ids(`employee=${alias}`)).toEqual(['al-3', 'al-1']);
      expect(await ids('from=2026-03-02T00:00:00Z&to=2026-03-04T00:00:00Z')).toEqual(['al-3', 'al-2']);
      expect(await ids('state=open')).toHaveLength(5);
      const bad = await t.call('GET', '/v1/alerts?from=yesterday', { token: officer });
      expect(bad.status).toBe(400);
      expect(bad.body.field).toBe('from');
      expect((await t.call('GET', '/v1/alerts?state=closed', { token: officer })).status).toBe(400);
    });

    it('moves an alert through its states, each move recorded before the answer with its before → after', async () => {
      const ack = await recorded('POST', '/v1/alerts/al-3/acknowledge', analyst);
      expect(ack.status, JSON.stringify(ack.body)).toBe(200);
      expect(ack.body).toMatchObject({ id: 'al-3', state: 'acknowledged', history: [{ from: 'open', to: 'acknowledged', actor: 'sec-0001' }] });
      expect(ack.events).toHaveLength(1);
      expect(ack.events[0]).toMatchObject({ actor: 'sec-0001', action: 'update', decision: 'allow', operation: 'update', target: { type: 'alert', id: 'al-3' }, change: { state: { before: 'open', after: 'acknowledged' } } });
      expect(ack.body.history[0].seq).toBe(await t.custos.store.ledger.size() - 1);

      const noReason = await t.call('POST', '/v1/alerts/al-3/dismiss', { token: analyst, body: {} });
      expect(noReason.status).toBe(400);
      expect(noReason.body.field).toBe('reason');

      const dismissed = await recorded('POST', '/v1/alerts/al-3/dismiss', analyst, { reason: 'a known migration job' });
      expect(dismissed.body).toMatchObject({ state: 'dismissed', history: [{ to: 'acknowledged' }, { to: 'dismissed', reason: 'a known migration job' }] });
      expect(dismissed.events[0]).toMatchObject({ change: { state: { before: 'acknowledged', after: 'dismissed' } }, details: { reason: 'a known migration job' } });

      // A dismissed alert is not escalated: 409, recorded as a denial.
      const late = await recorded('POST', '/v1/alerts/al-3/escalate', analyst, {});
      expect(late.status).toBe(409);
      expect(late.events[0]).toMatchObject({ decision: 'deny', reason: 'conflict', target: { type: 'alert', id: 'al-3' } });

      const escalated = await t.call('POST', '/v1/alerts/al-2/escalate', { token: officer, body: { reason: 'canary touched' } });
      expect(escalated.body.state).toBe('escalated');
      expect((await t.call('GET', '/v1/alerts?state=dismissed', { token: analyst })).body.alerts.map((a: any) => a.id)).toEqual(['al-3']);

      const missing = await recorded('POST', '/v1/alerts/al-none/acknowledge', analyst, {});
      expect(missing.status).toBe(404);
      expect(missing.events[0]).toMatchObject({ decision: 'deny', reason: 'not_found' });
    });

    it('unmasks a subject only on a separate request, recorded as a read of the alert', async () => {
      const subject = await recorded('GET', '/v1/alerts/al-4/subject', analyst);
      expect(subject.status).toBe(200);
      expect(subject.body).toMatchObject({ alert: 'al-4', employee: { id: 'emp-0003', name: expect.any(String) } });
      expect(subject.body.alias).toMatch(/^S-/);
      expect(subject.events[0]).toMatchObject({ actor: 'sec-0001', action: 'view', operation: 'read', target: { type: 'alert', id: 'al-4' }, decision: 'allow' });
    });

    it('records every denial: roles without triage, privacy officers dismissing, anyone on their own alert', async () => {
      const byAgent = await recorded('GET', '/v1/alerts', agent);
      expect(byAgent.status).toBe(403);
      expect(byAgent.events).toHaveLength(1);
      expect(byAgent.events[0]).toMatchObject({ actor: 'emp-0005', decision: 'deny', reason: 'not_permitted', target: { type: 'directory', id: 'alerts' } });
      expect((await recorded('GET', '/v1/alerts/al-1/subject', agent)).status).toBe(403);

      const officerDismiss = await recorded('POST', '/v1/alerts/al-1/dismiss', officer, { reason: 'looks fine' });
      expect(officerDismiss.status).toBe(403);
      expect(officerDismiss.events[0]).toMatchObject({ actor: 'dpo-0001', decision: 'deny', change: { state: { before: 'open', after: 'dismissed' } } });

      // An alert about oneself is refused and recorded as such, but answered as a missing one:
      // its id can be guessed from one's own events, and no one may learn whether they are flagged.
      const own = await recorded('GET', '/v1/alerts/al-own', analyst);
      const missing = await recorded('GET', '/v1/alerts/al-nobody', analyst);
      expect([own.status, own.body.error]).toEqual([404, 'not_found']);
      expect([missing.status, missing.body.error]).toEqual([404, 'not_found']);
      expect(own.events[0]).toMatchObject({ decision: 'deny', reason: 'separation_of_duties' });
      expect(missing.events[0]).toMatchObject({ decision: 'deny', reason: 'not_found' });
      const ownDismiss = await recorded('POST', '/v1/alerts/al-own/dismiss', analyst, { reason: 'mine' });
      expect([ownDismiss.status, ownDismiss.events[0]?.reason]).toEqual([404, 'separation_of_duties']);
      // Another analyst may.
      expect((await t.call('GET', '/v1/alerts/al-own', { token: await t.token('sec-0002') })).status).toBe(200);
      expect((await t.call('GET', '/v1/employees/sec-0001/risk', { token: analyst })).status).toBe(403);
    });

    it('serves an employee’s risk history with the detectors behind it, by id or by alias, recorded', async () => {
      await t.custos.store.alerts.saveDetections('test', [{ alert: alert('al-1', 'emp-0001', '2026-03-01T09:00:00.000Z', { score: 80, updatedAt: '2026-03-01T12:00:00.000Z' }), seq: 150 }], 200, new Date());
      const byId = await recorded('GET', '/v1/employees/emp-0001/risk', analyst);
      expect(byId.status).toBe(200);
      expect(byId.body.points.map((p: any) => [p.alert, p.score])).toEqual([['al-1', 55], ['al-1', 80], ['al-3', 70]]);
      expect(byId.body.points[0].detectors).toEqual([{ name: 'volume', score: 70 }]);
      expect(byId.events[0]).toMatchObject({ actor: 'sec-0001', operation: 'read', target: { type: 'employee', id: 'emp-0001' } });

      const alias = (await t.call('GET', '/v1/alerts/al-1', { token: analyst })).body.employee;
      const byAlias = await t.call('GET', `/v1/employees/${alias}/risk?limit=2`, { token: officer });
      expect(byAlias.body).toMatchObject({ employee: alias, points: [{ alert: 'al-1' }, { alert: 'al-1' }], next: '2026-03-01T12:00:00.000Z' });
      const rest = await t.call('GET', `/v1/employees/${alias}/risk?after=${byAlias.body.next}`, { token: officer });
      expect(rest.body.points.map((p: any) => p.alert)).toEqual(['al-3']);
      expect((await t.call('GET', '/v1/employees/nobody/risk', { token: analyst })).status).toBe(404);
    });

    it('documents every alert route in the OpenAPI description', async () => {
      const doc = (await t.call('GET', '/docs/json')).body;
      for (const path of ['/v1/alerts', '/v1/alerts/{id}', '/v1/alerts/{id}/subject', '/v1/alerts/{id}/acknowledge', '/v1/alerts/{id}/dismiss', '/v1/alerts/{id}/escalate', '/v1/employees/{id}/risk', '/v1/events']) {
        expect(doc.paths[path], path).toBeDefined();
      }
    });
  });
}
