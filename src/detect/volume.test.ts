import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, START, TestOrg } from '../../test/support/detect-org.ts';

describe('volume', () => {
  it('flags an agent revealing several times their usual number of customers, all under cases', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 6, 'support', 'agent');
    for (const id of ids) for (const d of TestOrg.weekdays(0, 21)) org.agentDay(id, d, 10);
    org.agentDay(ids[3]!, 21, 60);
    const mine = alertsFor(org.detect().alerts, ids[3]!);
    expect(mine).toHaveLength(1);
    const volume = mine[0]!.detectors.find((d) => d.name === 'volume')!;
    expect(volume.evidence.counts.distinctCustomers).toBeGreaterThan(30);
    expect(volume.evidence.baseline.ownMedian).toBe(10);
  });

  it('leaves Monday peaks alone (the whole team is busier every Monday)', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 6, 'support', 'agent');
    // Day 0 is a Monday.
    for (const id of ids) for (const d of TestOrg.weekdays(0, 35)) org.agentDay(id, d, d % 7 === 0 ? 17 : 10);
    expect(org.detect().alerts).toEqual([]);
  });

  it('holds a new hire to their peers, not to their own first quiet days', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 6, 'support', 'agent');
    const hire = org.employee('emp-new', 'support', 'agent', START + 14 * DAY);
    for (const id of ids) for (const d of TestOrg.weekdays(0, 35)) org.agentDay(id, d, 12);
    // Ramping up: 2 a day, then quickly the team's 12.
    for (const d of TestOrg.weekdays(14, 35)) org.agentDay(hire, d, Math.min(12, 2 + 2 * (d - 14)));
    expect(org.detect().alerts).toEqual([]);
  });
});
