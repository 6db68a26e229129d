import { describe, expect, it } from 'vitest';
import { alertsFor, customerId, DAY, HOUR, MINUTE, START, TestOrg } from '../../test/support/detect-org.ts';
import { trailingNumber } from './enumeration.ts';

function agents(): { org: TestOrg; ids: string[] } {
  const org = new TestOrg();
  const ids = org.team('emp', 6, 'support', 'agent');
  for (const id of ids) for (const d of TestOrg.weekdays(0, 25)) org.agentDay(id, d, 10);
  return { org, ids };
}

describe('enumeration', () => {
  it('flags masked views walking through customers in id order', () => {
    const { org, ids } = agents();
    for (let k = 0; k < 40; k++) org.event(START + 21 * DAY + 10 * HOUR + k * MINUTE, ids[0]!, 'view', [customerId(1000 + 3 * k)]);
    const mine = alertsFor(org.detect().alerts, ids[0]!);
    expect(mine).toHaveLength(1);
    const e = mine[0]!.detectors.find((d) => d.name === 'enumeration')!;
    expect(e.evidence.counts.consecutiveIds).toBeGreaterThanOrEqual(8);
    expect(e.evidence.summary).toMatch(/customers in a row in ascending id order/);
  });

  it('flags many distinct customers viewed in a day that no case links to', () => {
    const { org, ids } = agents();
    for (let k = 0; k < 80; k++) org.event(START + 21 * DAY + 9 * HOUR + k * 4 * MINUTE, ids[1]!, 'view', [org.someCustomer()]);
    expect(alertsFor(org.detect().alerts, ids[1]!)).toHaveLength(1);
  });

  it('leaves investigators alone who look at related accounts every day', () => {
    const org = new TestOrg();
    const ids = org.team('inv', 5, 'trust-safety', 'investigator');
    for (const id of ids) {
      for (const d of TestOrg.weekdays(0, 30)) {
        org.agentDay(id, d, 5);
        for (let k = 0; k < 4 + Math.floor(org.rand() * 8); k++) org.event(START + d * DAY + 14 * HOUR + k * 5 * MINUTE, id, 'view', [org.someCustomer()]);
      }
    }
    expect(org.detect().alerts).toEqual([]);
  });

  it('reads the number an id ends with', () => {
    expect(trailingNumber('cus-000123')).toBe(123);
    expect(trailingNumber('c-9')).toBe(9);
    expect(trailingNumber('abc')).toBeUndefined();
    for (const id of ['cus-0', 'cus-999999999999999', 'x123456789012345', 'a000000000000001']) expect(trailingNumber(id), id).toBe(Number(id.replace(/^\D+/, '')));
    expect(trailingNumber('x1234567890123456')).toBeUndefined();
  });
});
