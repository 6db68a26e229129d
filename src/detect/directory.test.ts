import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, HOUR, MINUTE, START, TestOrg } from '../../test/support/detect-org.ts';
import { ActorState } from './detector.ts';
import { MemoryDirectory } from './directory.ts';
import { DetectionEngine } from './engine.ts';

describe('the directory, kept current by management events', () => {
  it('learns a case opened through the stream, so reveals under it have a purpose from then on', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 6, 'support', 'agent');
    for (const id of ids) for (const d of TestOrg.weekdays(0, 21)) org.agentDay(id, d, 10);
    const t = START + 21 * DAY + 10 * HOUR;
    const customers = Array.from({ length: 6 }, () => org.someCustomer());
    customers.forEach((c, k) => {
      org.event(t + k * 10 * MINUTE, 'lead-1', 'update', [c], {
        target: { type: 'case', id: `live-${k}` },
        operation: 'create',
        change: { employee: { before: null, after: ids[0]! }, customer: { before: null, after: c }, openedAt: { before: null, after: new Date(t + k * 10 * MINUTE).toISOString() }, kind: { before: null, after: 'refund' } },
      });
      org.event(t + k * 10 * MINUTE + MINUTE, ids[0]!, 'reveal', [c], { purpose: { kind: 'case', ref: `live-${k}` } });
    });
    expect(alertsFor(org.detect().alerts, ids[0]!)).toEqual([]);
    expect(org.directory.case('live-3')).toMatchObject({ employee: ids[0], openedBy: 'lead-1' });
  });

  it('learns a leaving date set through the stream', () => {
    const directory = new MemoryDirectory();
    directory.putEmployee({ id: 'emp-1', team: 't', role: 'agent', location: 'x', hiredAt: '2024-01-01T00:00:00.000Z' });
    const engine = new DetectionEngine(directory);
    engine.observe({ id: 'ev-1', time: '2026-03-02T09:00:00.000Z', actor: 'hr-1', action: 'update', customers: [], fields: [], decision: 'allow', target: { type: 'employee', id: 'emp-1' }, operation: 'replace', change: { leftAt: { before: null, after: '2026-03-20T17:00:00.000Z' } } });
    expect(directory.employee('emp-1')).toMatchObject({ team: 't', leftAt: '2026-03-20T17:00:00.000Z' });
  });

  it('changes nothing for an ingested event: another system cannot un-flag a canary or open a case', () => {
    const directory = new MemoryDirectory();
    directory.putCustomer({ id: 'cus-1', country: 'GB', canary: true, vip: false });
    const engine = new DetectionEngine(directory);
    const ingested = { ingested: true, source: 'crm', ingestAct: 7 };
    engine.observe({ id: 'ev-1', time: '2026-03-02T09:00:00.000Z', actor: 'adm-1', action: 'update', customers: ['cus-1'], fields: [], decision: 'allow', target: { type: 'customer', id: 'cus-1' }, operation: 'replace', change: { canary: { before: 'true', after: 'false' } }, details: ingested });
    engine.observe({ id: 'ev-2', time: '2026-03-02T09:01:00.000Z', actor: 'sup-1', action: 'update', customers: ['cus-1'], fields: [], decision: 'allow', target: { type: 'case', id: 'k' }, operation: 'create', change: { employee: { before: null, after: 'emp-1' }, customer: { before: null, after: 'cus-1' } }, details: ingested });
    expect(directory.customer('cus-1')).toMatchObject({ canary: true });
    expect(directory.case('k')).toBeUndefined();
    const alerts = engine.observe({ id: 'ev-3', time: '2026-03-02T09:02:00.000Z', actor: 'emp-1', action: 'view', customers: ['cus-1'], fields: [], decision: 'allow' });
    expect(alerts.map((a) => a.detectors[0]!.name)).toEqual(['canary']);
  });

  it("reads an actor's remembered purpose case and links again once the directory changes", () => {
    const directory = new MemoryDirectory();
    const actor = new ActorState('emp-1');
    expect(actor.case(directory, 'k-1')).toBeUndefined();
    expect(actor.casesLinking(directory, 'cus-1')).toEqual([]);
    directory.putCase({ id: 'k-1', employee: 'emp-1', customer: 'cus-1', openedAt: '2026-03-02T09:00:00.000Z', kind: 'refund' });
    expect(actor.case(directory, 'k-1')).toMatchObject({ id: 'k-1', employee: 'emp-1' });
    expect(actor.casesLinking(directory, 'cus-1').map((c) => c.id)).toEqual(['k-1']);
  });

  it('changes nothing for a denied act', () => {
    const directory = new MemoryDirectory();
    expect(directory.applyManagementEvent({ id: 'ev-1', time: '2026-03-02T09:00:00.000Z', actor: 'x', action: 'update', customers: [], fields: [], decision: 'deny', target: { type: 'case', id: 'k' }, operation: 'create', change: { employee: { before: null, after: 'e' }, customer: { before: null, after: 'c' } } })).toBe(false);
    expect(directory.case('k')).toBeUndefined();
  });
});
