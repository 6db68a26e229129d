import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, HOUR, START, TestOrg } from '../../test/support/detect-org.ts';

describe('canary', () => {
  it('raises a critical alert on the very event that touches a canary, even a masked view', () => {
    const org = new TestOrg();
    org.employee('emp-1', 'support', 'agent');
    for (const d of TestOrg.weekdays(0, 5)) org.agentDay('emp-1', d, 10);
    const touch = org.event(START + 3 * DAY + 15 * HOUR, 'emp-1', 'view', [org.canary]);
    const { alerts } = org.detect();
    const mine = alertsFor(alerts, 'emp-1');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.severity).toBe('critical');
    expect(mine[0]!.detectedAt).toBe(touch.time);
    expect(mine[0]!.detectors.map((d) => d.name)).toContain('canary');
    expect(mine[0]!.detectors[0]!.evidence.samples.map((s) => s.id)).toEqual([touch.id]);
  });

  it('fires on a search hit and on a denied reveal too', () => {
    const org = new TestOrg();
    org.employee('emp-1', 'support', 'agent');
    org.employee('emp-2', 'support', 'agent');
    const hit = org.event(START + HOUR, 'emp-1', 'search', [org.canary], { search: { kind: 'email', hash: 'ab', hits: 1 } });
    const denied = org.event(START + 2 * HOUR, 'emp-2', 'reveal', [org.canary], { decision: 'deny', fields: [], reason: 'no_purpose' });
    const { alerts } = org.detect();
    expect(alertsFor(alerts, 'emp-1')[0]!.detectedAt).toBe(hit.time);
    expect(alertsFor(alerts, 'emp-2')[0]!.detectedAt).toBe(denied.time);
  });

  it("marks a sample another system sent through ingest with that system, so the analyst knows whose word it is", () => {
    const org = new TestOrg();
    org.employee('emp-1', 'support', 'agent');
    org.employee('emp-2', 'support', 'agent');
    const forged = org.event(START + HOUR, 'emp-1', 'view', [org.canary], { details: { ingested: true, source: 'app-crm/crm', ingestAct: 3 } });
    const own = org.event(START + 2 * HOUR, 'emp-2', 'view', [org.canary]);
    const { alerts } = org.detect();
    expect(alertsFor(alerts, 'emp-1')[0]!.detectors[0]!.evidence.samples).toEqual([{ id: forged.id, time: forged.time, source: 'app-crm/crm' }]);
    expect(alertsFor(alerts, 'emp-2')[0]!.detectors[0]!.evidence.samples).toEqual([{ id: own.id, time: own.time }]);
  });

  it('stays quiet for honest work that never touches a canary', () => {
    const org = new TestOrg();
    for (let i = 1; i <= 5; i++) org.employee(`emp-${i}`, 'support', 'agent');
    for (let i = 1; i <= 5; i++) for (const d of TestOrg.weekdays(0, 20)) org.agentDay(`emp-${i}`, d, 10);
    expect(org.detect().alerts).toEqual([]);
  });
});
