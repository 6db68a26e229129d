import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, HOUR, MINUTE, START, TestOrg } from '../../test/support/detect-org.ts';
import type { Finding } from './alert.ts';

function agents(): { org: TestOrg; ids: string[] } {
  const org = new TestOrg();
  const ids = org.team('emp', 6, 'support', 'agent');
  for (const id of ids) {
    for (const d of TestOrg.weekdays(0, 25)) {
      org.agentDay(id, d, 10);
      // A typo now and then: a search that finds nobody.
      if (org.rand() < 0.3) org.event(START + d * DAY + 13 * HOUR, id, 'search', [], { search: { kind: 'email', hash: `typo-${d}`, hits: 0 } });
    }
  }
  return { org, ids };
}

describe('probing', () => {
  it('flags a burst of denied reveals', () => {
    const { org, ids } = agents();
    for (let k = 0; k < 25; k++) org.event(START + 21 * DAY + 10 * HOUR + k * MINUTE, ids[0]!, 'reveal', [org.someCustomer()], { decision: 'deny', fields: [], reason: 'purpose_not_linked' });
    const mine = alertsFor(org.detect().alerts, ids[0]!);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.detectors.map((d) => d.name)).toContain('probing');
  });

  it('notices the same number searched again and again', () => {
    const { org, ids } = agents();
    for (let k = 0; k < 7; k++) org.event(START + 21 * DAY + 10 * HOUR + k * MINUTE, ids[1]!, 'search', [], { search: { kind: 'phone', hash: 'same-number', hits: 0 } });
    const findings: Finding[] = [];
    org.detect({ onFinding: (f) => f.detector === 'probing' && findings.push(f) });
    expect(findings.at(-1)!.evidence.counts.maxRepeatedQuery).toBe(7);
  });

  it('stays quiet for ordinary typos', () => {
    expect(agents().org.detect().alerts).toEqual([]);
  });
});
