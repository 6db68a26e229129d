import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, HOUR, MINUTE, START, TestOrg } from '../../test/support/detect-org.ts';

/** Six agents working cases for three weeks; the pattern under test starts on day 21 (a Monday). */
function agents(): { org: TestOrg; ids: string[] } {
  const org = new TestOrg();
  const ids = org.team('emp', 6, 'support', 'agent');
  for (const id of ids) for (const d of TestOrg.weekdays(0, 25)) org.agentDay(id, d, 10);
  return { org, ids };
}

function revealsWithoutCase(org: TestOrg, who: string, day: number, n: number, fromHour = 10): void {
  for (let k = 0; k < n; k++) org.event(START + day * DAY + fromHour * HOUR + k * 7 * MINUTE, who, 'reveal', [org.someCustomer()]);
}

describe('no purpose', () => {
  it('flags a seller the day they start revealing customers no case links them to', () => {
    const { org, ids } = agents();
    revealsWithoutCase(org, ids[2]!, 21, 25);
    const mine = alertsFor(org.detect().alerts, ids[2]!);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.detectedAt.slice(0, 10)).toBe('2026-03-23');
    const np = mine[0]!.detectors.find((d) => d.name === 'no_purpose')!;
    expect(np.evidence.counts.withoutPurpose).toBeGreaterThanOrEqual(3);
    expect(np.evidence.samples.length).toBeGreaterThan(0);
  });

  it('flags a slow leak of three a day', () => {
    const { org, ids } = agents();
    for (const d of [21, 22]) revealsWithoutCase(org, ids[1]!, d, 3, 9);
    expect(alertsFor(org.detect().alerts, ids[1]!)).toHaveLength(1);
  });

  it('leaves team leads alone: revealing without a case of their own is their daily work', () => {
    const org = new TestOrg();
    const leads = org.team('lead', 5, 'support', 'supervisor');
    for (const id of leads) for (const d of TestOrg.weekdays(0, 30)) org.leadDay(id, d, 4 + Math.floor(org.rand() * 5));
    expect(org.detect().alerts).toEqual([]);
  });

  it('damps a day when the case system is down for the whole team', () => {
    const { org, ids } = agents();
    // Day 21: nobody can attach or open a case; everyone reveals without one, at once.
    for (const id of ids) revealsWithoutCase(org, id, 21, 8, 9);
    expect(org.detect().alerts).toEqual([]);
  });

  it('holds a finding back for half an hour, then gives it at the next event', () => {
    const { org, ids } = agents();
    revealsWithoutCase(org, ids[0]!, 21, 3, 15);
    const later = org.event(START + 21 * DAY + 16 * HOUR, ids[0]!, 'view', [org.someCustomer()]);
    const mine = alertsFor(org.detect().alerts, ids[0]!);
    expect(mine.map((a) => a.detectedAt)).toEqual([later.time]);
  });
});
