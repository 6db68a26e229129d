import { describe, expect, it } from 'vitest';
import { alertsFor, customerId, DAY, HOUR, START, TestOrg } from '../../test/support/detect-org.ts';
import { poissonTail } from './baseline.ts';

describe('VIP', () => {
  it('flags reveals of several VIPs without a purpose', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 6, 'support', 'agent');
    for (const id of ids) for (const d of TestOrg.weekdays(0, 21)) org.agentDay(id, d, 10);
    // Customers whose number is a multiple of 200 are VIPs in the test organisation.
    for (const [k, n] of [200, 1400, 3000].entries()) org.event(START + 21 * DAY + (10 + k) * HOUR, ids[0]!, 'reveal', [customerId(n)]);
    const mine = alertsFor(org.detect().alerts, ids[0]!);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.detectors.map((d) => d.name)).toContain('vip');
  });

  it('leaves a team lead alone who meets a VIP now and then among many escalations', () => {
    const org = new TestOrg();
    const leads = org.team('lead', 5, 'support', 'supervisor');
    for (const id of leads) for (const d of TestOrg.weekdays(0, 30)) org.leadDay(id, d, 6);
    org.event(START + 25 * DAY + 11 * HOUR, leads[0]!, 'reveal', [customerId(1800)]);
    expect(org.detect().alerts).toEqual([]);
  });

  it('computes a Poisson tail', () => {
    expect(poissonTail(0, 1)).toBe(1);
    expect(poissonTail(1, 1)).toBeCloseTo(1 - Math.exp(-1), 10);
    expect(poissonTail(2, 0.5)).toBeCloseTo(1 - Math.exp(-0.5) * 1.5, 10);
  });
});
