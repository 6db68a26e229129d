import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, HOUR, START, TestOrg } from '../../test/support/detect-org.ts';

function exportOf(org: TestOrg, who: string, day: number, n: number, ref?: string): void {
  const customers = Array.from({ length: n }, () => org.someCustomer());
  org.event(START + day * DAY + 15 * HOUR, who, 'export', customers, ref ? { purpose: { kind: 'case', ref } } : {});
}

describe('bulk export', () => {
  it('flags an export of hundreds of customers by someone whose role never exports', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 6, 'support', 'agent');
    for (const id of ids) for (const d of TestOrg.weekdays(0, 21)) org.agentDay(id, d, 10);
    exportOf(org, ids[5]!, 21, 600);
    const mine = alertsFor(org.detect().alerts, ids[5]!);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.detectors.map((d) => d.name)).toContain('bulk_export');
  });

  it('leaves investigators alone whose work includes exports of tens of accounts under their case', () => {
    const org = new TestOrg();
    const ids = org.team('inv', 5, 'trust-safety', 'investigator');
    for (const id of ids) {
      for (const d of TestOrg.weekdays(0, 40)) {
        org.agentDay(id, d, 5);
        if (org.rand() < 0.3) exportOf(org, id, d, 20 + Math.floor(org.rand() * 60), org.openCase(id, org.someCustomer(), START + d * DAY, 20 * HOUR));
      }
    }
    expect(org.detect().alerts).toEqual([]);
  });
});
