/**
 * Time and place: the compromised-account pattern. Access far outside the hours this person
 * works (learned from their own events, so night shifts are normal for night shifts), from a
 * network or channel they have never used. Each alone is weak (people travel, work late once);
 * together, on data access, they are a finding.
 */
import type { Finding } from './alert.ts';
import { Escalation, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';

const MAX_KNOWN = 32;
/** Events and active days before a person's own hours and networks are known. */
const WARM_EVENTS = 150;
const WARM_DAYS = 7;

interface Person {
  hours: Float64Array;
  events: number;
  days: number;
  lastDay: number;
  networks: Map<string, number>;
  channels: Map<string, number>;
  /** The last address seen and its network: people work from one address for hours. */
  lastIp: string | undefined;
  lastNetwork: string | undefined;
  today: { day: number; offHours: number; newNetworks: number; newChannels: number };
  samples: Samples;
  escalation: Escalation;
}

export class TimePlaceDetector implements Detector {
  readonly name = 'time_place' as const;
  private readonly people: PerEmployee<Person>;

  constructor(slots: Slots) {
    this.people = new PerEmployee(slots, (o) => ({
      hours: new Float64Array(24),
      events: 0,
      days: 0,
      lastDay: -1,
      networks: new Map(),
      channels: new Map(),
      lastIp: undefined,
      lastNetwork: undefined,
      today: { day: o.day, offHours: 0, newNetworks: 0, newChannels: 0 },
      samples: new Samples(),
      escalation: new Escalation(),
    }));
  }

  observe(o: Observation): Finding | undefined {
    const p = this.person(o);
    const warm = p.events >= WARM_EVENTS && p.days >= WARM_DAYS;
    const network = o.event.ip ? this.network(p, o.event.ip) : undefined;
    const channel = o.event.channel;
    let result: Finding | undefined;
    if (warm && o.event.customers.length > 0) {
      const t = p.today;
      const share = hourShare(p.hours, p.events, o.hour);
      if (share < 0.004) t.offHours++;
      if (network !== undefined && !p.networks.has(network)) t.newNetworks++;
      if (channel !== undefined && !p.channels.has(channel)) t.newChannels++;
      if (t.offHours + t.newNetworks + t.newChannels > 0) {
        if (share < 0.004 || (network !== undefined && !p.networks.has(network)) || (channel !== undefined && !p.channels.has(channel))) p.samples.add(o.day, o.ref);
        const off = t.offHours >= 3 ? Math.min(45, 25 + 2 * t.offHours) : 0;
        const net = t.newNetworks > 0 ? 25 : 0;
        const chan = t.newChannels > 0 ? 15 : 0;
        const score = 100 * (1 - (1 - off / 100) * (1 - net / 100) * (1 - chan / 100));
        // One new network or channel alone is ordinary; it takes odd hours or both.
        if (off > 0 || (net > 0 && chan > 0)) {
          if (p.escalation.shouldEmit(o.day, score)) {
            result = finding('time_place', o, score, {
              summary:
                `on ${o.event.time.slice(0, 10)}: ${t.offHours} accesses at hours they almost never work (${o.hour}:00 UTC is ${(share * 100).toFixed(1)}% of their history)` +
                `, ${t.newNetworks} from a network never seen before, ${t.newChannels} through a channel never used before`,
              counts: { offHours: t.offHours, newNetworkEvents: t.newNetworks, newChannelEvents: t.newChannels },
              baseline: { historyEvents: p.events, historyDays: p.days, hourShare: Math.round(share * 10000) / 10000, knownNetworks: p.networks.size, knownChannels: p.channels.size },
              samples: p.samples.list(),
            });
          }
        }
      }
    }
    // Learn after judging: the first odd event is judged against what came before it.
    p.hours[o.hour] = (p.hours[o.hour] as number) + 1;
    p.events++;
    if (network !== undefined) remember(p.networks, network, o.ms);
    if (channel !== undefined) remember(p.channels, channel, o.ms);
    return result;
  }

  private network(p: Person, ip: string): string {
    if (ip !== p.lastIp) {
      p.lastIp = ip;
      p.lastNetwork = networkOf(ip);
    }
    return p.lastNetwork as string;
  }

  private person(o: Observation): Person {
    const p = this.people.of(o);
    if (p.lastDay !== o.day) {
      p.lastDay = o.day;
      p.days++;
      p.today = { day: o.day, offHours: 0, newNetworks: 0, newChannels: 0 };
    }
    return p;
  }
}

/** Share of the person's events in this hour and the hours either side (shifts have edges). */
function hourShare(hours: Float64Array, total: number, hour: number): number {
  const around = (hours[(hour + 23) % 24] as number) + (hours[hour] as number) + (hours[(hour + 1) % 24] as number);
  return around / Math.max(1, total);
}

/** The network an address is in: /24 for IPv4, /48 for IPv6. */
export function networkOf(ip: string): string {
  if (ip.includes(':')) return ip.split(':').slice(0, 3).join(':');
  const dot = ip.lastIndexOf('.');
  return dot > 0 ? ip.slice(0, dot) : ip;
}

/** Keeps the most recently used entries, at most MAX_KNOWN (recency refreshed once a day). */
function remember(known: Map<string, number>, key: string, ms: number): void {
  const seen = known.get(key);
  if (seen !== undefined && ms - seen < 86_400_000) return;
  known.delete(key);
  known.set(key, ms);
  if (known.size > MAX_KNOWN) known.delete(known.keys().next().value as string);
}
