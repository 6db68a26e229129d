import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/stores.ts';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { decodeAccessEvent, type AccessEvent } from '../../src/model.ts';

for (const target of storeTargets()) {
  describe(`managing records over HTTP on ${target.name}`, () => {
    let t: TestInstance;
    let admin: string;
    let supervisor: string;
    let agent: string;

    beforeAll(async () => {
      t = await startInstance({ store: target.location(), customers: 300 });
      admin = await t.token('adm-0001');
      supervisor = await t.token('sup-0001');
      agent = await t.token('emp-0001');
    });
    afterAll(async () => {
      await t?.stop();
      await target.cleanup();
    });

    /** The ledger entries recorded by `act`, decoded. */
    async function recordedBy(act: () => Promise<unknown>): Promise<AccessEvent[]> {
      const from = await t.custos.store.ledger.size();
      await act();
      const to = await t.custos.store.ledger.size();
      const events: AccessEvent[] = [];
      for await (const e of t.custos.store.ledger.readEntries(from, to)) events.push(decodeAccessEvent(e.entry)!);
      return events;
    }

    /** The one event a request records, and its answer. */
    async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any; event: AccessEvent }> {
      let res: { status: number; body: any } | undefined;
      const events = await recordedBy(async () => {
        res = await t.call(method, path, { token, ...(body !== undefined ? { body } : {}) });
      });
      expect(events, `${method} ${path} → ${res!.status} ${JSON.stringify(res!.body)}`).toHaveLength(1);
      return { ...res!, event: events[0]! };
    }

    it('keeps a reassigned case’s history; PUT does not reassign; the ledger shows each act with before → after', async () => {
      const opened = await call('POST', '/v1/cases', supervisor, { id: 'case-h1', employee: 'emp-0005', customer: 'cus-000010', kind: 'refund' });
      expect(opened.status).toBe(201);
      expect(Math.abs(Date.parse(opened.body.openedAt) - Date.now())).toBeLessThan(60_000);
      expect(opened.event).toMatchObject({
        actor: 'sup-0001', action: 'update', decision: 'allow', operation: 'create', target: { type: 'case', id: 'case-h1' }, customers: ['cus-000010'],
        change: { employee: { before: null, after: 'emp-0005' }, customer: { before: null, after: 'cus-000010' }, kind: { before: null, after: 'refund' } },
      });

      // Changing the assignee by PUT is refused, pointing at /reassign, and recorded.
      const put = await call('PUT', '/v1/cases/case-h1', supervisor, { employee: 'emp-0006', customer: 'cus-000010', kind: 'refund' });
      expect(put.status).toBe(409);
      expect(put.body.message).toContain('/v1/cases/case-h1/reassign');
      expect(put.event).toMatchObject({ decision: 'deny', reason: 'conflict', operation: 'replace', target: { type: 'case', id: 'case-h1' } });
      // What PUT does change: the kind.
      const edited = await call('PUT', '/v1/cases/case-h1', supervisor, { ...opened.body, kind: 'delivery' });
      expect(edited.status).toBe(200);
      expect(edited.event).toMatchObject({ decision: 'allow', operation: 'replace', change: { kind: { before: 'refund', after: 'delivery' } } });
      expect(Object.keys(edited.event.change!)).toEqual(['kind']);

      const moved = await call('POST', '/v1/cases/case-h1/reassign', supervisor, { employee: 'emp-0006' });
      expect(moved.status).toBe(200);
      expect(moved.body.employee).toBe('emp-0006');
      expect(moved.event).toMatchObject({
        action: 'update', decision: 'allow', operation: 'reassign', target: { type: 'case', id: 'case-h1' }, customers: ['cus-000010'],
        change: { employee: { before: 'emp-0005', after: 'emp-0006' } },
      });
      expect(Object.keys(moved.event.change!)).toEqual(['employee']);
      const purpose = { kind: 'case', ref: 'case-h1' };
      // The policy sees only the current assignee.
      const former = await t.call('POST', '/v1/customers/cus-000010/reveal', { token: await t.token('emp-0005'), body: { fields: ['email'], purpose } });
      expect(former.body.reason).toBe('purpose_not_linked');
      expect((await t.call('POST', '/v1/customers/cus-000010/reveal', { token: await t.token('emp-0006'), body: { fields: ['email'], purpose } })).status).toBe(200);

      const closed = await call('POST', '/v1/cases/case-h1/close', supervisor);
      expect(closed.status).toBe(200);
      expect(closed.event).toMatchObject({ operation: 'close', change: { closedAt: { before: null, after: closed.body.closedAt } } });
      expect((await call('POST', '/v1/cases/case-h1/close', supervisor)).status).toBe(409);
      const reopened = await call('POST', '/v1/cases/case-h1/reopen', supervisor);
      expect(reopened.status).toBe(200);
      expect(reopened.body.closedAt).toBeUndefined();
      expect(reopened.event).toMatchObject({ operation: 'reopen', change: { closedAt: { before: closed.body.closedAt, after: null } } });

      const history = await call('GET', '/v1/cases/case-h1/history', agent);
      expect(history.status).toBe(200);
      expect(history.event).toMatchObject({ action: 'view', decision: 'allow', operation: 'read', target: { type: 'case', id: 'case-h1' } });
      expect(history.body.events.map((e: any) => [e.operation, e.employee, e.actor])).toEqual([
        ['open', 'emp-0005', 'sup-0001'],
        ['reassign', 'emp-0006', 'sup-0001'],
        ['close', 'emp-0006', 'sup-0001'],
        ['reopen', 'emp-0006', 'sup-0001'],
      ]);
      // Each act points at the ledger entry that recorded it.
      const recorded = await t.custos.store.accessEvents.byActor('sup-0001', { limit: 1000 });
      expect(history.body.events[1].seq).toBe(recorded.find((e) => e.operation === 'reassign' && e.target?.id === 'case-h1')!.seq);
      expect(history.body.assignments).toEqual([
        { employee: 'emp-0005', from: opened.body.openedAt, to: history.body.events[1].at },
        { employee: 'emp-0006', from: history.body.events[1].at },
      ]);
    });

    it('gives an imported case the history it carried, before the acts that follow', async () => {
      await call('POST', '/v1/cases/case-000001/reassign', supervisor, { employee: 'emp-0002' });
      const history = await t.call('GET', '/v1/cases/case-000001/history', { token: supervisor });
      expect(history.body.assignments.map((a: any) => a.employee)).toEqual(['emp-0001', 'emp-0002']);
      expect(history.body.events[0]).not.toHaveProperty('actor');
      await call('POST', '/v1/cases/case-000001/reassign', supervisor, { employee: 'emp-0001' });
    });

    it('opens cases now: an openedAt in the past, or any closedAt, is refused naming the field', async () => {
      const past = await t.call('POST', '/v1/cases', { token: supervisor, body: { id: 'case-past', employee: 'emp-0005', customer: 'cus-000011', kind: 'refund', openedAt: new Date(Date.now() - 3_600_000).toISOString() } });
      expect(past.status).toBe(400);
      expect(past.body.field).toBe('openedAt');
      const closed = await t.call('POST', '/v1/cases', { token: supervisor, body: { id: 'case-past', employee: 'emp-0005', customer: 'cus-000011', kind: 'refund', closedAt: new Date().toISOString() } });
      expect(closed.body.field).toBe('closedAt');
      // A client clock a little off is fine.
      const skewed = await t.call('POST', '/v1/cases', { token: supervisor, body: { id: 'case-skew', employee: 'emp-0005', customer: 'cus-000011', kind: 'refund', openedAt: new Date(Date.now() - 60_000).toISOString() } });
      expect(skewed.status).toBe(201);
      // An open case cannot be back-dated or closed by PUT either.
      const backdate = await t.call('PUT', '/v1/cases/case-skew', { token: supervisor, body: { ...skewed.body, openedAt: '2020-01-01T00:00:00Z' } });
      expect(backdate.status).toBe(409);
      const closeByPut = await t.call('PUT', '/v1/cases/case-skew', { token: supervisor, body: { ...skewed.body, closedAt: new Date().toISOString() } });
      expect(closeByPut.status).toBe(409);
      expect(closeByPut.body.message).toContain('/close');
    });

    it('answers a probe of a missing id as it answers one of an existing id, and records each', async () => {
      const suspendedToken = await t.token('emp-0200');
      expect((await t.call('POST', '/v1/employees/emp-0200/suspend', { token: admin })).status).toBe(200);
      const caseBody = { employee: 'emp-0007', customer: 'cus-000012', kind: 'refund' };
      const employeeBody = { name: 'N', team: 'payments', role: 'agent', location: 'Milan', hiredAt: '2024-01-01T00:00:00Z' };
      const customerBody = { email: 'p@mail.example', phone: '+14155550100', name: 'P Q', country: 'US' };
      // [method, path of a missing record, the same for an existing one, body]
      const probes: Array<[string, string, string, unknown?]> = [
        ['GET', '/v1/employees/emp-missing', '/v1/employees/emp-0010'],
        ['PUT', '/v1/employees/emp-missing', '/v1/employees/emp-0010', employeeBody],
        ['POST', '/v1/employees/emp-missing/suspend', '/v1/employees/emp-0010/suspend'],
        ['GET', '/v1/cases/case-missing', '/v1/cases/case-000002'],
        ['GET', '/v1/cases/case-missing/history', '/v1/cases/case-000002/history'],
        ['PUT', '/v1/cases/case-missing', '/v1/cases/case-000002', caseBody],
        ['POST', '/v1/cases/case-missing/close', '/v1/cases/case-000002/close'],
        ['POST', '/v1/cases/case-missing/reopen', '/v1/cases/case-000002/reopen'],
        ['POST', '/v1/cases/case-missing/reassign', '/v1/cases/case-000002/reassign', { employee: 'emp-0008' }],
        ['PUT', '/v1/customers/cus-missing', '/v1/customers/cus-000013', customerBody],
        ['DELETE', '/v1/customers/cus-missing', '/v1/customers/cus-000013'],
      ];
      for (const [method, missing, existing, body] of probes) {
        const what = `${method} ${missing}`;
        // Agents may not manage (they may view single records); a suspended actor may do nothing.
        const forbiddenToAgent = method !== 'GET';
        for (const token of forbiddenToAgent ? [agent, suspendedToken] : [suspendedToken]) {
          const a = await call(method, missing, token, body);
          const b = await call(method, existing, token, body);
          expect(a.status, what).toBe(403);
          expect(b.status, what).toBe(403);
          expect(a.body.reason, what).toBe(b.body.reason);
          expect(a.event, what).toMatchObject({ decision: 'deny', reason: b.body.reason });
        }
        const allowed = await call(method, missing, admin, body);
        expect(allowed.status, what).toBe(404);
        expect(allowed.event, what).toMatchObject({ actor: 'adm-0001', decision: 'deny', reason: 'not_found', target: { id: missing.split('/')[3] } });
      }
      // A new case naming a missing employee or customer.
      for (const [field, body] of [['employee', { ...caseBody, employee: 'emp-missing' }], ['customer', { ...caseBody, customer: 'cus-missing' }]] as const) {
        const asAgent = await call('POST', '/v1/cases', agent, { id: `case-probe-${field}`, ...body });
        expect(asAgent.status).toBe(403);
        const asSupervisor = await call('POST', '/v1/cases', supervisor, { id: `case-probe-${field}`, ...body });
        expect(asSupervisor.status).toBe(404);
        expect(asSupervisor.body.message).toContain(`field "${field}"`);
        expect(asSupervisor.event).toMatchObject({ decision: 'deny', reason: 'not_found', operation: 'create', target: { type: 'case', id: `case-probe-${field}` } });
      }
    });

    it('ships separation of duties: nobody changes their own role or status, nor opens, reopens or takes a case of their own', async () => {
      const self = await t.call('GET', '/v1/employees/adm-0002', { token: admin });
      const own = await t.token('adm-0002');
      const promote = await call('PUT', '/v1/employees/adm-0002', own, { ...self.body, role: 'supervisor' });
      expect(promote.status).toBe(403);
      expect(promote.body.reason).toBe('separation_of_duties');
      expect(promote.event).toMatchObject({ decision: 'deny', reason: 'separation_of_duties', operation: 'replace', change: { role: { before: 'admin', after: 'supervisor' } } });
      expect((await call('POST', '/v1/employees/adm-0002/suspend', own)).body.reason).toBe('separation_of_duties');
      expect((await call('PUT', '/v1/employees/adm-0002', own, { ...self.body, status: 'suspended' })).body.reason).toBe('separation_of_duties');
      // Their own team is theirs to change; someone else may change their role.
      expect((await call('PUT', '/v1/employees/adm-0002', own, { ...self.body, team: 'privacy' })).status).toBe(200);
      const byOther = await call('PUT', '/v1/employees/adm-0002', admin, { ...self.body, team: 'privacy', role: 'supervisor' });
      expect(byOther.status).toBe(200);
      expect(byOther.event).toMatchObject({ action: 'update', decision: 'allow', operation: 'replace', target: { type: 'employee', id: 'adm-0002' }, change: { role: { before: 'admin', after: 'supervisor' } } });
      expect(Object.keys(byOther.event.change!)).toEqual(['role']);

      const sup2 = await t.token('sup-0002');
      const openOwn = await call('POST', '/v1/cases', sup2, { id: 'case-sod', employee: 'sup-0002', customer: 'cus-000020', kind: 'refund' });
      expect(openOwn.body.reason).toBe('separation_of_duties');
      expect(openOwn.event).toMatchObject({ decision: 'deny', reason: 'separation_of_duties', operation: 'create' });
      // Opened by another supervisor for sup-0002, fine; then sup-0002 may not reopen it.
      expect((await call('POST', '/v1/cases', supervisor, { id: 'case-sod', employee: 'sup-0002', customer: 'cus-000020', kind: 'refund' })).status).toBe(201);
      expect((await call('POST', '/v1/cases/case-sod/close', sup2)).status).toBe(200);
      expect((await call('POST', '/v1/cases/case-sod/reopen', sup2)).body.reason).toBe('separation_of_duties');
      expect((await call('POST', '/v1/cases/case-sod/reassign', sup2, { employee: 'emp-0009' })).status).toBe(200);
      expect((await call('POST', '/v1/cases/case-sod/reassign', sup2, { employee: 'sup-0002' })).body.reason).toBe('separation_of_duties');
    });

    it('records a customer change by attribute and PII field name, never a value', async () => {
      const body = { id: 'cus-chg', email: 'first.last@mail.example', phone: '+14155550199', name: 'First Last', country: 'US' };
      const created = await call('POST', '/v1/customers', admin, body);
      expect(created.event).toMatchObject({ operation: 'create', target: { type: 'customer', id: 'cus-chg' }, change: { country: { before: null, after: 'US' }, fields: { before: null, after: 'email,name,phone' } } });
      const replaced = await call('PUT', '/v1/customers/cus-chg', admin, { ...body, country: 'CA', vip: true, email: 'other@mail.example', loyaltyId: 'L-1', entity: 'ca' });
      expect(replaced.status).toBe(200);
      // The entity holding the account is a clear attribute: shown, and its change recorded; not a PII field.
      expect(replaced.body).toMatchObject({ entity: 'ca' });
      expect(Object.keys(replaced.body.fields)).not.toContain('entity');
      expect(replaced.event.change).toEqual({
        country: { before: 'US', after: 'CA' },
        vip: { before: 'false', after: 'true' },
        entity: { before: null, after: 'ca' },
        fields: { before: 'email,name,phone', after: 'email,loyaltyId,name,phone' },
      });
      const deleted = await call('DELETE', '/v1/customers/cus-chg', admin);
      expect(deleted.event).toMatchObject({ action: 'delete', operation: 'delete', change: { country: { before: 'CA', after: null } } });
      for (const e of [created, replaced, deleted]) expect(JSON.stringify(e.event)).not.toMatch(/first\.last|other@|4155550199|First Last|L-1/);
    });

    it('lists employees and cases in pages by id, decided and recorded as reads', async () => {
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await call('GET', `/v1/employees?limit=120${after ? `&after=${after}` : ''}`, admin);
        expect(page.status).toBe(200);
        expect(page.event).toMatchObject({ action: 'view', decision: 'allow', operation: 'read', target: { type: 'directory', id: 'employees' }, details: { returned: page.body.employees.length } });
        seen.push(...page.body.employees.map((e: any) => e.id));
        if (!page.body.next) break;
        after = page.body.next;
      }
      expect(seen).toHaveLength(300);
      expect([...seen].sort()).toEqual(seen);

      const mine = await call('GET', '/v1/cases?employee=emp-0001&open=true', supervisor);
      expect(mine.status).toBe(200);
      expect(mine.body.cases.map((c: any) => c.id)).toContain('case-000001');
      expect(mine.body.cases.every((c: any) => c.employee === 'emp-0001' && c.closedAt === undefined)).toBe(true);
      expect(mine.event).toMatchObject({ target: { type: 'directory', id: 'cases' }, details: { employee: 'emp-0001', open: true } });
      expect(mine.event.customers).toEqual(expect.arrayContaining(['cus-000001']));
      const two = await t.call('GET', '/v1/cases?limit=2', { token: supervisor });
      const next = await t.call('GET', `/v1/cases?limit=2&after=${two.body.next}`, { token: supervisor });
      expect(next.body.cases[0].id > two.body.cases[1].id).toBe(true);

      const denied = await call('GET', '/v1/cases', agent);
      expect(denied.status).toBe(403);
      expect(denied.event).toMatchObject({ decision: 'deny', operation: 'read', target: { type: 'directory', id: 'cases' } });
      expect((await t.call('GET', '/v1/employees?limit=1001', { token: admin })).status).toBe(400);
    });
  });
}
