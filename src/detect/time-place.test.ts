import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, HOUR, MINUTE, START, TestOrg } from '../../test/support/detect-org.ts';
import { networkOf } from './time-place.ts';

describe('time and place', () => {
  it('flags a compromised account: reveals at 3 in the morning from a network and a channel never used', () => {
    const org = new TestOrg();
    const ids = org.team('emp', 6, 'support', 'agent');
    for (const id of ids) for (const d of TestOrg.weekdays(0, 25)) org.agentDay(id, d, 10);
    for (let k = 0; k < 30; k++) {
      const customer = org.someCustomer();
      org.event(START + 22 * DAY + 3 * HOUR + k * MINUTE, ids[2]!, k % 3 === 0 ? 'reveal' : 'view', [customer], { ip: '185.220.4.9', channel: 'api' });
    }
    const mine = alertsFor(org.detect().alerts, ids[2]!);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.detectors.map((d) => d.name)).toContain('time_place');
  });

  it('leaves a night shift alone, and a business trip from a new network at the usual hours', () => {
    const org = new TestOrg();
    const night = org.team('night', 5, 'support-night', 'agent');
    for (const id of night) for (const d of TestOrg.weekdays(0, 30)) org.agentDay(id, d, 10, { hour: 22 });
    const day = org.team('emp', 5, 'support', 'agent');
    for (const id of day) for (const d of TestOrg.weekdays(0, 30)) org.agentDay(id, d, 10);
    // On a trip: the same work, from a hotel's network.
    const before = org.events.length;
    org.agentDay(day[0]!, 30, 10);
    for (const e of org.events.slice(before)) e.ip = '203.0.113.7';
    expect(org.detect().alerts).toEqual([]);
  });

  it('reads the network of an address', () => {
    expect(networkOf('10.1.2.3')).toBe('10.1.2');
    expect(networkOf('2001:db8:1:2::5')).toBe('2001:db8:1');
  });
});
