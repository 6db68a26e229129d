import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, HOUR, MINUTE, START, TestOrg } from '../../test/support/detect-org.ts';

function agents(): { org: TestOrg; ids: string[] } {
  const org = new TestOrg();
  const ids = org.team('emp', 6, 'support', 'agent');
  for (const id of ids) for (const d of TestOrg.weekdays(0, 25)) org.agentDay(id, d, 10);
  return { org, ids };
}

describe('purpose quality', () => {
  it('flags cases opened by the agent a minute before a reveal and closed right after, used for nothing else', () => {
    const { org, ids } = agents();
    for (let k = 0; k < 6; k++) {
      const t = START + 21 * DAY + 9 * HOUR + k * 40 * MINUTE;
      const customer = org.someCustomer();
      const ref = org.openCase(ids[4]!, customer, t - MINUTE, 3 * MINUTE);
      org.event(t, ids[4]!, 'reveal', [customer], { purpose: { kind: 'case', ref } });
    }
    const mine = alertsFor(org.detect().alerts, ids[4]!);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.detectors.map((d) => d.name)).toContain('purpose_quality');
    expect(mine[0]!.detectors.find((d) => d.name === 'purpose_quality')!.evidence.counts.fleetingCases).toBeGreaterThanOrEqual(4);
  });

  it('leaves phone agents alone who open a case as the customer calls and look before revealing', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 6, 'support', 'agent');
    for (const id of ids) {
      for (const d of TestOrg.weekdays(0, 30)) {
        for (let k = 0; k < 8; k++) {
          const t = START + d * DAY + 9 * HOUR + k * 45 * MINUTE;
          const customer = org.someCustomer();
          const ref = org.openCase(id, customer, t - 2 * MINUTE, 20 * MINUTE);
          org.event(t, id, 'view', [customer], { purpose: { kind: 'case', ref } });
          org.event(t + 3 * MINUTE, id, 'reveal', [customer], { purpose: { kind: 'case', ref } });
        }
      }
    }
    expect(org.detect().alerts).toEqual([]);
  });

  it('leaves an outreach team alone that reveals a list of customers under a campaign case opened hours ahead', () => {
    const org = new TestOrg();
    const ids = org.team('out', 6, 'outreach', 'agent');
    for (const id of ids) {
      for (const d of TestOrg.weekdays(0, 30)) {
        const first = org.someCustomer();
        const ref = org.openCase(id, first, START + d * DAY + 3 * HOUR, 12 * HOUR, 'lead-9');
        for (let k = 0; k < 15 + Math.floor(org.rand() * 10); k++) {
          org.event(START + d * DAY + 9 * HOUR + k * 15 * MINUTE, id, 'reveal', [k === 0 ? first : org.someCustomer()], { purpose: { kind: 'case', ref } });
        }
      }
    }
    expect(org.detect().alerts).toEqual([]);
  });
});
