/**
 * Time and place: the compromised-account pattern. Access far outside the hours this person
 * works (learned from their own events, so night shifts are normal for night shifts), from a
 * network or channel they have never used. Each alone is weak (people travel, work late once);
 * together, on data access, they are a finding.
 *
 * With the operator's places file (places.ts), also impossible travel: two data-access events
 * from listed networks so far apart that no airliner covers the distance in the time between
 * them — one account used from two places at once, the mark of a stolen login. Addresses in no
 * listed network have no place and are not judged; without the file travel is not checked.
 */
import type { EventRef, Finding } from './alert.ts';
import { Escalation, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';
import { distanceKm, type KnownPlace, type PlaceMap } from './places.ts';

const MAX_KNOWN = 32;
/** Events and active days before a person's own hours and networks are known. */
const WARM_EVENTS = 150;
const WARM_DAYS = 7;
/** Faster than this between two places is impossible travel: an airliner's cruising speed. */
const TRAVEL_MAX_KMH = 900;
/** Nearer than this is never judged: neighbouring offices, clock skew between their systems. */
const TRAVEL_MIN_KM = 500;
/**
 * Impossible travel's part of the score: below the alert threshold alone (a VPN or a proxy in
 * a listed network can make it), over it with any other sign — odd hours, a new network and
 * channel, or another detector's finding.
 */
const TRAVEL_SCORE = 45;
/** Shortest interval a speed is computed over: event times are not more precise than that. */
const MIN_TRAVEL_HOURS = 1 / 60;

/** A data-access event from a listed network. */
interface Located {
  place: KnownPlace;
  ms: number;
  ref: EventRef;
}

interface Trip {
  from: Located;
  to: Located;
  km: number;
  kmh: number;
}

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
  /** The last address looked up in the places file and its place. */
  placeIp: string | undefined;
  place: KnownPlace | undefined;
  /** The last data-access event from a listed network. */
  located: Located | undefined;
  today: Today;
  samples: Samples;
  escalation: Escalation;
}

interface Today {
  day: number;
  offHours: number;
  newNetworks: number;
  newChannels: number;
  /** Impossible trips today, and the first of them. */
  trips: number;
  trip: Trip | undefined;
}

function today(day: number): Today {
  return { day, offHours: 0, newNetworks: 0, newChannels: 0, trips: 0, trip: undefined };
}

export class TimePlaceDetector implements Detector {
  readonly name = 'time_place' as const;
  private readonly people: PerEmployee<Person>;

  /** The operator's networks and their places; without them travel is not checked. */
  constructor(
    slots: Slots,
    private readonly places?: PlaceMap,
  ) {
    this.people = new PerEmployee(slots, (o) => ({
      hours: new Float64Array(24),
      events: 0,
      days: 0,
      lastDay: -1,
      networks: new Map(),
      channels: new Map(),
      lastIp: undefined,
      lastNetwork: undefined,
      placeIp: undefined,
      place: undefined,
      located: undefined,
      today: today(o.day),
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
    const access = o.event.customers.length > 0;
    if (access && this.places && o.event.ip) this.travel(p, o, this.places, o.event.ip);
    const t = p.today;
    if (access && (warm || t.trip)) {
      const share = hourShare(p.hours, p.events, o.hour);
      const offHour = warm && share < 0.004;
      const newNetwork = warm && network !== undefined && !p.networks.has(network);
      const newChannel = warm && channel !== undefined && !p.channels.has(channel);
      if (offHour) t.offHours++;
      if (newNetwork) t.newNetworks++;
      if (newChannel) t.newChannels++;
      if (t.offHours + t.newNetworks + t.newChannels > 0 || t.trip) {
        if (offHour || newNetwork || newChannel) p.samples.add(o.day, o.ref);
        const off = t.offHours >= 3 ? Math.min(45, 25 + 2 * t.offHours) : 0;
        const net = t.newNetworks > 0 ? 25 : 0;
        const chan = t.newChannels > 0 ? 15 : 0;
        const trip = t.trip ? TRAVEL_SCORE : 0;
        const score = 100 * (1 - (1 - off / 100) * (1 - net / 100) * (1 - chan / 100) * (1 - trip / 100));
        // One new network or channel alone is ordinary; it takes odd hours or both. Impossible travel is a sign of its own.
        if (off > 0 || (net > 0 && chan > 0) || trip > 0) {
          if (p.escalation.shouldEmit(o.day, score)) {
            const counts: Record<string, number> = warm ? { offHours: t.offHours, newNetworkEvents: t.newNetworks, newChannelEvents: t.newChannels } : {};
            const baseline: Record<string, number> = { historyEvents: p.events, historyDays: p.days };
            if (warm) Object.assign(baseline, { hourShare: Math.round(share * 10000) / 10000, knownNetworks: p.networks.size, knownChannels: p.channels.size });
            const said: string[] = [];
            if (warm) {
              said.push(
                `${t.offHours} accesses at hours they almost never work (${o.hour}:00 UTC is ${(share * 100).toFixed(1)}% of their history)` +
                  `, ${t.newNetworks} from a network never seen before, ${t.newChannels} through a channel never used before`,
              );
            }
            if (t.trip) {
              said.push(tripSentence(t.trip, t.trips));
              Object.assign(counts, { impossibleTrips: t.trips, travelKm: Math.round(t.trip.km), travelMinutes: minutesOf(t.trip), travelKmh: Math.round(t.trip.kmh) });
              Object.assign(baseline, { travelLimitKmh: TRAVEL_MAX_KMH, travelMinKm: TRAVEL_MIN_KM });
            }
            result = finding('time_place', o, score, {
              summary: `on ${o.event.time.slice(0, 10)}: ${said.join('; ')}`,
              counts,
              baseline,
              // A trip's day may have no odd event of its own: the samples kept are then another day's.
              samples: t.trip ? withTrip(p.samples.key === o.day ? p.samples.list() : [], t.trip) : p.samples.list(),
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

  /** Notes an impossible trip from the last located data access to this one. */
  private travel(p: Person, o: Observation, places: PlaceMap, ip: string): void {
    if (ip !== p.placeIp) {
      p.placeIp = ip;
      p.place = places.placeOf(ip);
    }
    const here = p.place;
    if (here === undefined) return;
    const before = p.located;
    const now: Located = { place: here, ms: o.ms, ref: o.ref };
    p.located = now;
    if (before === undefined || before.place === here) return;
    const km = distanceKm(before.place, here);
    if (km <= TRAVEL_MIN_KM) return;
    const kmh = km / Math.max(MIN_TRAVEL_HOURS, Math.abs(o.ms - before.ms) / 3_600_000);
    if (kmh <= TRAVEL_MAX_KMH) return;
    p.today.trips++;
    p.today.trip ??= { from: before, to: now, km, kmh };
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
      p.today = today(o.day);
    }
    return p;
  }
}

/** The trip in words: both places, when, how far and how fast. */
function tripSentence(trip: Trip, trips: number): string {
  const minutes = minutesOf(trip);
  const others = trips > 1 ? ` (${trips} such trips that day)` : '';
  return (
    `impossible travel: data accessed from ${trip.from.place.place} (${trip.from.place.cidr}) at ${trip.from.ref.time} and from ${trip.to.place.place} (${trip.to.place.cidr}) at ${trip.to.ref.time}, ` +
    `${Math.round(trip.km)} km apart ${minutes} minutes later, ${Math.round(trip.kmh)} km/h where an airliner does about ${TRAVEL_MAX_KMH}${others}`
  );
}

function minutesOf(trip: Trip): number {
  return Math.round(Math.abs(trip.to.ms - trip.from.ms) / 60_000);
}

/** The day's samples with both events of the trip, oldest first, at most 10. */
function withTrip(samples: readonly EventRef[], trip: Trip): EventRef[] {
  const others = samples.filter((r) => r.id !== trip.from.ref.id && r.id !== trip.to.ref.id).slice(0, 8);
  return [...others, trip.from.ref, trip.to.ref].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
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
