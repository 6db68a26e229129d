import { describe, expect, it } from 'vitest';
import { alertsFor, DAY, HOUR, MINUTE, START, TestOrg } from '../../test/support/detect-org.ts';
import type { Finding } from './alert.ts';
import type { KnownPlace } from './places.ts';
import { networkOf } from './time-place.ts';

const PLACES: KnownPlace[] = [
  { cidr: '10.1.0.0/16', place: 'Milan office', lat: 45.46, lon: 9.19 },
  { cidr: '10.2.0.0/16', place: 'Milan office', lat: 45.46, lon: 9.19 },
  { cidr: '10.3.0.0/16', place: 'Turin office', lat: 45.07, lon: 7.69 },
  { cidr: '10.7.0.0/16', place: 'New York office', lat: 40.71, lon: -74.01 },
  { cidr: '2001:db8:1::/48', place: 'Milan office', lat: 45.46, lon: 9.19 },
  { cidr: '2001:db8:9::/48', place: 'Sydney office', lat: -33.87, lon: 151.21 },
];

/** Six agents at work in Milan (10.1.2.3) for three weeks; then `trip` adds the events under test. */
function travelling(trip: (org: TestOrg, who: string) => void, places: KnownPlace[] | null = PLACES): { org: TestOrg; who: string; findings: Finding[]; alerts: ReturnType<TestOrg['detect']>['alerts'] } {
  const org = new TestOrg();
  const ids = org.team('emp', 6, 'support', 'agent');
  for (const id of ids) for (const d of TestOrg.weekdays(0, 21)) org.agentDay(id, d, 10);
  const who = ids[2]!;
  trip(org, who);
  const findings: Finding[] = [];
  const { alerts } = org.detect({ ...(places ? { places } : {}), onFinding: (f) => findings.push(f) });
  return { org, who, findings: findings.filter((f) => f.detector === 'time_place' && f.employee === who), alerts };
}

/** A view under a case of their own from `ip` at `ms`. */
function viewFrom(org: TestOrg, who: string, ms: number, ip: string): void {
  const customer = org.someCustomer();
  org.event(ms, who, 'view', [customer], { ip, purpose: { kind: 'case', ref: org.openCase(who, customer, ms - HOUR, 5 * HOUR, 'lead-1') } });
}

/** A view at 10:00 on day 21 from `ip`, then another `later` from `ip2`. */
function twoViews(ip: string, ip2: string, later: number) {
  return (org: TestOrg, who: string) => {
    viewFrom(org, who, START + 21 * DAY + 10 * HOUR, ip);
    viewFrom(org, who, START + 21 * DAY + 10 * HOUR + later, ip2);
  };
}

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

  it('flags impossible travel: data accessed in Milan, then an hour later in New York', () => {
    const { org, who, findings, alerts } = travelling(twoViews('10.1.2.3', '10.7.5.5', HOUR));
    const [first, second] = org.events.slice(-2);
    expect(findings).toHaveLength(1);
    const f = findings[0]!;
    expect(f.at).toBe(second!.time);
    expect(f.evidence.summary).toMatch(
      new RegExp(`^on ${second!.time.slice(0, 10)}: .*; impossible travel: data accessed from Milan office \\(10\\.1\\.0\\.0/16\\) at ${first!.time} and from New York office \\(10\\.7\\.0\\.0/16\\) at ${second!.time}, 64\\d\\d km apart 60 minutes later, 64\\d\\d km/h where an airliner does about 900$`),
    );
    expect(f.evidence.counts).toMatchObject({ impossibleTrips: 1, travelMinutes: 60, newNetworkEvents: 1 });
    expect(f.evidence.counts.travelKm).toBeGreaterThan(6_400);
    expect(f.evidence.counts.travelKmh).toBe(f.evidence.counts.travelKm);
    expect(f.evidence.baseline).toMatchObject({ travelLimitKmh: 900, travelMinKm: 500 });
    expect(f.evidence.samples.map((r) => r.id)).toEqual([first!.id, second!.id]);
    // The trip (45) from a network never used before (25): an alert.
    expect(f.score).toBe(59);
    expect(alertsFor(alerts, who)).toHaveLength(1);
    expect(alertsFor(alerts, who)[0]!.explanation).toContain('Time and place (59): on ');
  });

  it('scores travel alone below the threshold, over it with another detector\'s sign', () => {
    // New York is a network they know (a Saturday's work there), so the trip is the one sign.
    const alone = travelling((org, who) => {
      viewFrom(org, who, START + 19 * DAY + 12 * HOUR, '10.7.5.5');
      twoViews('10.1.2.3', '10.7.5.5', 2 * HOUR)(org, who);
    });
    expect(alone.findings.map((f) => f.score)).toEqual([45]);
    expect(alone.findings[0]!.evidence.counts).toMatchObject({ offHours: 0, newNetworkEvents: 0, newChannelEvents: 0, impossibleTrips: 1, travelMinutes: 120 });
    expect(alertsFor(alone.alerts, alone.who)).toEqual([]);
    // Both events of the trip, not the Saturday's new network (another day's sample).
    expect(alone.findings[0]!.evidence.samples.map((r) => r.id)).toEqual(alone.org.events.slice(-2).map((e) => e.id));
    // That Saturday's view without a case: enumeration's small finding and the trip raise an alert.
    const withAnother = travelling((org, who) => {
      org.event(START + 19 * DAY + 12 * HOUR, who, 'view', [org.someCustomer()], { ip: '10.7.5.5' });
      twoViews('10.1.2.3', '10.7.5.5', 2 * HOUR)(org, who);
    });
    const [alert] = alertsFor(withAnother.alerts, withAnother.who);
    expect(alert?.detectors.map((d) => [d.name, d.score])).toEqual([['time_place', 45], ['enumeration', 17]]);
    expect(alert?.score).toBeGreaterThanOrEqual(50);
  });

  it('needs no history: a new hire\'s trip is judged on their first events', () => {
    const org = new TestOrg();
    org.employee('new-1', 'support', 'agent');
    twoViews('10.1.2.3', '2001:db8:9::7', 30 * MINUTE)(org, 'new-1');
    const found: Finding[] = [];
    org.detect({ places: PLACES, onFinding: (f) => found.push(f) });
    expect(found.map((f) => [f.detector, f.score, f.evidence.counts])).toEqual([['time_place', 45, { impossibleTrips: 1, travelKm: expect.any(Number), travelMinutes: 30, travelKmh: expect.any(Number) }]]);
    expect(found[0]!.evidence.summary).toMatch(/^on 2026-03-23: impossible travel: data accessed from Milan office \(10\.1\.0\.0\/16\) at .* and from Sydney office \(2001:db8:9::\/48\) at /);
  });

  it('leaves alone the same place, a short hop, a slow trip and addresses in no listed network', () => {
    const cases = [
      twoViews('10.1.2.3', '10.2.9.9', MINUTE), // two networks of the Milan office
      twoViews('10.1.2.3', '10.3.1.1', 5 * MINUTE), // Turin, 126 km: under 500 km, whatever the clocks say
      twoViews('10.1.2.3', '10.7.5.5', 9 * HOUR), // a flight to New York: 719 km/h
      twoViews('10.1.2.3', '198.51.100.7', MINUTE), // an address of no listed network: no place
      twoViews('198.51.100.7', '10.7.5.5', MINUTE),
    ];
    for (const trip of cases) {
      const { findings } = travelling(trip);
      expect(findings.filter((f) => f.evidence.summary.includes('impossible travel'))).toEqual([]);
    }
  });

  it('checks IPv6 networks, and compares with the last located access across unlisted ones', () => {
    const { findings } = travelling((org, who) => {
      twoViews('2001:db8:1:4::2', '203.0.113.9', 10 * MINUTE)(org, who);
      viewFrom(org, who, START + 21 * DAY + 11 * HOUR, '2001:db8:9:1::3');
    });
    const trip = findings.find((f) => f.evidence.summary.includes('impossible travel'));
    expect(trip?.evidence.summary).toContain('from Milan office (2001:db8:1::/48) at 2026-');
    expect(trip?.evidence.summary).toContain('from Sydney office (2001:db8:9::/48) at ');
    expect(trip?.evidence.counts.travelMinutes).toBe(60);
  });

  it('without a places file checks no travel, the findings unchanged', () => {
    const trip = twoViews('10.1.2.3', '10.7.5.5', HOUR);
    const without = travelling(trip, null);
    expect(without.findings.some((f) => f.evidence.summary.includes('impossible travel'))).toBe(false);
    expect(travelling(trip, []).findings).toEqual(without.findings);
  });

  it('reads the network of an address', () => {
    expect(networkOf('10.1.2.3')).toBe('10.1.2');
    expect(networkOf('2001:db8:1:2::5')).toBe('2001:db8:1');
  });
});
