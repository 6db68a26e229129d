import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { distanceKm, loadPlaces, parsePlaces, PlaceMap } from './places.ts';

const MILAN = { cidr: '10.3.0.0/16', place: 'Milan office', lat: 45.46, lon: 9.19 };
const NEW_YORK = { cidr: '2001:db8:7::/48', place: 'New York office', lat: 40.71, lon: -74.01 };

function errorOf(run: () => unknown): InvalidInputError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error('no error');
}

describe('places file', () => {
  it('reads one place a line, skipping blank lines, and a JSON array alike', () => {
    const jsonl = `${JSON.stringify(MILAN)}\n\n${JSON.stringify(NEW_YORK)}\r\n`;
    expect(parsePlaces(jsonl, 'places.jsonl')).toEqual([MILAN, NEW_YORK]);
    expect(parsePlaces(JSON.stringify([MILAN, NEW_YORK], null, 2), 'places.json')).toEqual([MILAN, NEW_YORK]);
    const dir = mkdtempSync(join(tmpdir(), 'custos-places-'));
    writeFileSync(join(dir, 'places.jsonl'), jsonl);
    expect(loadPlaces(join(dir, 'places.jsonl'))).toEqual([MILAN, NEW_YORK]);
  });

  it('names the file, line and field of a bad CIDR', () => {
    const text = `${JSON.stringify(MILAN)}\n${JSON.stringify({ ...MILAN, cidr: '10.3.0.0/33' })}\n`;
    const err = errorOf(() => parsePlaces(text, 'p.jsonl'));
    expect(err.message).toBe('p.jsonl:2: field "cidr": must be a network such as 10.3.0.0/16 or 2001:db8:3::/48');
    expect(err.where).toEqual({ file: 'p.jsonl', line: 2, field: 'cidr' });
    for (const cidr of ['10.3.0.0', '10.3.0/16', '2001:db8::/129', 'milan', '10.3.0.0/-1']) {
      expect(errorOf(() => parsePlaces(JSON.stringify({ ...MILAN, cidr }), 'p.jsonl')).where?.field).toBe('cidr');
    }
  });

  it('names a bad latitude, longitude or place, and an array entry by its number', () => {
    expect(errorOf(() => parsePlaces(`\n${JSON.stringify({ ...MILAN, lat: 91 })}`, 'p.jsonl')).message).toBe('p.jsonl:2: field "lat": must be a latitude in degrees, from -90 to 90');
    expect(errorOf(() => parsePlaces(JSON.stringify({ ...MILAN, lat: '45.46' }), 'p.jsonl')).where).toEqual({ file: 'p.jsonl', line: 1, field: 'lat' });
    expect(errorOf(() => parsePlaces(JSON.stringify({ ...MILAN, lon: -181 }), 'p.jsonl')).where?.field).toBe('lon');
    expect(errorOf(() => parsePlaces(JSON.stringify({ ...MILAN, place: ' ' }), 'p.jsonl')).where?.field).toBe('place');
    // A right-to-left override would reorder the explanation an analyst reads.
    expect(errorOf(() => parsePlaces(JSON.stringify({ ...MILAN, place: 'Milan \u202e eciffo' }), 'p.jsonl')).message).toBe(
      'p.jsonl:1: field "place": holds a bidirectional control character (U+202E)',
    );
    const err = errorOf(() => parsePlaces(JSON.stringify([MILAN, { ...NEW_YORK, lon: 200 }]), 'p.json'));
    expect(err.message).toBe('p.json: entry 2: field "lon": must be a longitude in degrees, from -180 to 180');
    expect(err.where).toEqual({ file: 'p.json', entry: 2, field: 'lon' });
  });

  it('names a line that is not JSON or not an object, and a file that cannot be read', () => {
    expect(errorOf(() => parsePlaces(`${JSON.stringify(MILAN)}\n{"cidr":`, 'p.jsonl')).message).toBe('p.jsonl:2: not valid JSON');
    expect(errorOf(() => parsePlaces('"Milan"', 'p.jsonl')).message).toBe('p.jsonl:1: expected a JSON object');
    expect(errorOf(() => parsePlaces('[1,', 'p.json')).message).toMatch(/^p\.json: not valid JSON/);
    expect(errorOf(() => loadPlaces('/nonexistent/places.jsonl')).message).toBe('/nonexistent/places.jsonl: no such file or it cannot be read');
  });

  it('places an address in its most specific listed network, IPv4 and IPv6; others nowhere', () => {
    const lab = { cidr: '10.3.7.0/24', place: 'Milan lab', lat: 45.48, lon: 9.23 };
    const map = new PlaceMap([MILAN, lab, NEW_YORK]);
    expect(map.placeOf('10.3.1.2')).toBe(MILAN);
    expect(map.placeOf('10.3.7.9')).toBe(lab);
    expect(map.placeOf('2001:db8:7:1::5')).toBe(NEW_YORK);
    expect(map.placeOf('2001:db8:8::1')).toBeUndefined();
    expect(map.placeOf('10.4.0.1')).toBeUndefined();
    expect(map.placeOf('not an address')).toBeUndefined();
  });

  it('measures great-circle distances', () => {
    // Milan to New York is some 6,470 km; London to Paris, 344 (the sphere is within 0.5%).
    expect(Math.abs(distanceKm(MILAN, NEW_YORK) - 6_470)).toBeLessThan(30);
    expect(Math.abs(distanceKm({ lat: 51.5074, lon: -0.1278 }, { lat: 48.8566, lon: 2.3522 }) - 344)).toBeLessThan(2);
    expect(distanceKm(MILAN, MILAN)).toBe(0);
  });
});
