import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { jsonValueLine, parseObligationsIncidentText } from './incident-input.ts';

const GOOD = {
  id: 'inc-7',
  kind: 'insider',
  awareAt: '2026-11-18T15:00:00+01:00',
  recipient: 'third-party',
  controller: { name: 'Example Marketplace Europe Ltd', country: 'IE' },
  affected: [
    { customer: 'cus-1', country: 'fr', fields: ['email', 'phone', 'email'] },
    { customer: 'cus-2', country: 'US', region: 'us-ca', fields: ['email'] },
  ],
  encrypted: false,
};

function text(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function errorOf(source: string): InvalidInputError {
  try {
    parseObligationsIncidentText(source, 'incident.json');
  } catch (err) {
    if (err instanceof InvalidInputError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

describe('incident file', () => {
  it('parses the contract: codes upper-cased, awareAt in UTC, fields without duplicates', () => {
    const incident = parseObligationsIncidentText(text(GOOD), 'incident.json');
    expect(incident.awareAt).toBe('2026-11-18T14:00:00.000Z');
    expect(incident.affected[0]).toEqual({ customer: 'cus-1', country: 'FR', fields: ['email', 'phone'] });
    expect(incident.affected[1]!.region).toBe('US-CA');
  });

  it('a bad field is named with its path and the line it is on', () => {
    const bad = { ...GOOD, affected: [GOOD.affected[0], { ...GOOD.affected[1], region: 'CA-QC' }] };
    const source = text(bad);
    const err = errorOf(source);
    const line = source.split('\n').findIndex((l) => l.includes('"CA-QC"')) + 1;
    expect(err.message).toBe(`incident.json:${line}: field "affected[1].region": must be a subdivision of US`);
    expect(err.where).toEqual({ file: 'incident.json', line, field: 'affected[1].region' });
  });

  it('a missing field is named, with the line of the object that lacks it', () => {
    const { country: _country, ...noCountry } = GOOD.affected[1]!;
    const source = text({ ...GOOD, affected: [GOOD.affected[0], noCountry] });
    const err = errorOf(source);
    expect(err.message).toMatch(/^incident\.json:\d+: field "affected\[1\]\.country": is required$/);
    const line = Number(/:(\d+):/.exec(err.message)![1]);
    expect(source.split('\n')[line - 1]).toContain('{');
  });

  it('names each required field and its allowed values', () => {
    expect(errorOf(text({ ...GOOD, recipient: 'seller' })).message).toContain('field "recipient": must be one of third-party, public, unknown');
    expect(errorOf(text({ ...GOOD, encrypted: 'no' })).message).toContain('field "encrypted": is required: true or false');
    expect(errorOf(text({ ...GOOD, awareAt: 'yesterday' })).message).toContain('field "awareAt": must be an RFC 3339 date-time');
    expect(errorOf(text({ ...GOOD, affected: [{ customer: 'c', country: 'FR', fields: [] }] })).message).toContain('field "affected[0].fields"');
    expect(errorOf(text({ ...GOOD, controller: { name: 'X' } })).message).toContain('field "controller.country": is required');
  });

  it('a JSON syntax error names its line', () => {
    const err = errorOf('{\n  "id": "inc-1",\n  "kind": "insider",,\n}');
    expect(err.message).toMatch(/^incident\.json:3: not valid JSON/);
  });

  it('finds the line of any value by path, skipping nested values and escaped quotes', () => {
    const source = '{\n "a": {"x": [1, {"y": "q\\"}"}]},\n "b": [\n  {"c": 1},\n  {"c": 2}\n ]\n}';
    expect(jsonValueLine(source, ['b', 1, 'c'])).toBe(5);
    expect(jsonValueLine(source, ['a', 'x', 1, 'y'])).toBe(2);
    expect(jsonValueLine(source, ['b', 7])).toBeUndefined();
  });
});
