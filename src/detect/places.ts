/**
 * The places file: the operator's own networks and where they are, e.g.
 * `{"cidr":"10.3.0.0/16","place":"Milan office","lat":45.46,"lon":9.19}`, one a line (JSONL) or
 * all in one JSON array. Events carry an address but no location, and Custos ships no
 * geolocation database: an address in none of these networks has no known place, and time and
 * place checks impossible travel only between known places.
 */
import { readFileSync, statSync } from 'node:fs';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { InvalidInputError } from '../errors.ts';
import { unsafeCharacterIn } from '../unsafe-text.ts';

/** One network of the places file, checked. Plain data: it crosses to detection's threads. */
export interface KnownPlace {
  cidr: string;
  place: string;
  /** Degrees, −90 to 90 and −180 to 180. */
  lat: number;
  lon: number;
}

/** Reads and checks a places file; a bad entry stops with the file, its line (or entry) and field. */
export function loadPlaces(file: string): KnownPlace[] {
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw new InvalidInputError(`${file}: is a directory; give a file`, { file });
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError(`${file}: no such file or it cannot be read`, { file });
  }
  return parsePlaces(text, file);
}

/** The entries of a places file's text: a JSON array, or one JSON object a line (blank lines skipped). */
export function parsePlaces(text: string, file: string): KnownPlace[] {
  const places: KnownPlace[] = [];
  if (text.trimStart().startsWith('[')) {
    let entries: unknown;
    try {
      entries = JSON.parse(text);
    } catch (err) {
      throw new InvalidInputError(`${file}: not valid JSON (${(err as Error).message})`, { file });
    }
    if (!Array.isArray(entries)) throw new InvalidInputError(`${file}: expected a JSON array of places or one JSON object a line`, { file });
    entries.forEach((entry, i) => places.push(parsePlace(entry, file, `entry ${i + 1}`, { file, entry: i + 1 })));
  } else {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      if (line === '') continue;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        throw new InvalidInputError(`${file}:${i + 1}: not valid JSON`, { file, line: i + 1 });
      }
      places.push(parsePlace(entry, file, `${i + 1}`, { file, line: i + 1 }));
    }
  }
  return places;
}

function parsePlace(raw: unknown, file: string, at: string, where: { file: string; line?: number; entry?: number }): KnownPlace {
  // "file:3: …" for a line, "file: entry 3: …" for an array's entry.
  const prefix = where.line !== undefined ? `${file}:${at}: ` : `${file}: ${at}: `;
  const fail = (field: string, message: string): never => {
    throw new InvalidInputError(`${prefix}field "${field}": ${message}`, { ...where, field });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidInputError(`${prefix}expected a JSON object`, where);
  const r = raw as Record<string, unknown>;
  if (typeof r.cidr !== 'string' || parseCidr(r.cidr) === undefined) fail('cidr', 'must be a network such as 10.3.0.0/16 or 2001:db8:3::/48');
  if (typeof r.place !== 'string' || r.place.trim() === '' || r.place.length > 200) fail('place', 'must be a name of 1 to 200 characters');
  // The name is written into alerts' explanations, which analysts read: no text that reorders what they see.
  const unsafe = unsafeCharacterIn(r.place as string);
  if (unsafe) fail('place', `holds ${unsafe}`);
  if (typeof r.lat !== 'number' || !(r.lat >= -90 && r.lat <= 90)) fail('lat', 'must be a latitude in degrees, from -90 to 90');
  if (typeof r.lon !== 'number' || !(r.lon >= -180 && r.lon <= 180)) fail('lon', 'must be a longitude in degrees, from -180 to 180');
  return { cidr: r.cidr as string, place: r.place as string, lat: r.lat as number, lon: r.lon as number };
}

interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseCidr(cidr: string): Cidr | undefined {
  const slash = cidr.indexOf('/');
  if (slash < 0) return undefined;
  const address = cidr.slice(0, slash);
  const bits = cidr.slice(slash + 1);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family || !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (family === 'ipv4' ? 32 : 128)) return undefined;
  return { address, prefix, family };
}

/** Which listed network an address is in: the most specific one (longest prefix), the file's first among equals. */
export class PlaceMap {
  private readonly networks: Array<{ list: BlockList; family: 'ipv4' | 'ipv6'; place: KnownPlace }>;

  constructor(places: readonly KnownPlace[]) {
    const parsed = places.map((place, i) => ({ place, i, cidr: parseCidr(place.cidr) as Cidr }));
    parsed.sort((a, b) => b.cidr.prefix - a.cidr.prefix || a.i - b.i);
    this.networks = parsed.map(({ place, cidr }) => {
      const list = new BlockList();
      list.addSubnet(cidr.address, cidr.prefix, cidr.family);
      return { list, family: cidr.family, place };
    });
  }

  /** The place of an address, undefined when it is in no listed network (or is not an address). */
  placeOf(ip: string): KnownPlace | undefined {
    const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
    if (!family) return undefined;
    for (const n of this.networks) if (n.family === family && n.list.check(ip, family)) return n.place;
    return undefined;
  }
}

const EARTH_RADIUS_KM = 6371;

/** Great-circle distance between two places, km (haversine). */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
