import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { blindIndexEmail, blindIndexPhone, searchProbeHash } from './blind-index.ts';
import { KeyRing, newKeyRingDocument } from './keyring.ts';

const doc = newKeyRingDocument(new Date('2026-01-31T09:00:00Z'));
const kr = new KeyRing(doc, { kind: 'env', variable: 'test' });

describe('blind indexes', () => {
  it('is HMAC-SHA-256 under the index key over "email\\0" + the normalised address, in hex', () => {
    const expected = createHmac('sha256', Buffer.from(doc.indexKey, 'base64')).update('email\0john@example.com').digest('hex');
    expect(blindIndexEmail(kr, 'john@example.com')).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is HMAC-SHA-256 over "phone\\0" + E.164', () => {
    const expected = createHmac('sha256', Buffer.from(doc.indexKey, 'base64')).update('phone\0+15551234567').digest('hex');
    expect(blindIndexPhone(kr, '+15551234567')).toBe(expected);
  });

  it('matches e-mails that differ in case, blanks or Unicode composition', () => {
    expect(blindIndexEmail(kr, 'John@Example.com ')).toBe(blindIndexEmail(kr, 'john@example.com'));
    expect(blindIndexEmail(kr, 'jos\u00e9@example.com')).toBe(blindIndexEmail(kr, 'jose\u0301@example.com'));
    expect(blindIndexEmail(kr, 'john@example.com')).not.toBe(blindIndexEmail(kr, 'john@example.org'));
  });

  it('matches phones written nationally or internationally', () => {
    const intl = blindIndexPhone(kr, '+1 555 123 4567');
    expect(blindIndexPhone(kr, '(555) 123-4567', 'US')).toBe(intl);
    expect(blindIndexPhone(kr, '+15551234567', 'IT')).toBe(intl);
    expect(blindIndexPhone(kr, '(555) 123-4568', 'US')).not.toBe(intl);
  });

  it('separates the e-mail and phone domains', () => {
    expect(blindIndexEmail(kr, '+15551234567')).not.toBe(blindIndexPhone(kr, '+15551234567'));
  });

  it('depends on the index key', () => {
    const other = new KeyRing(newKeyRingDocument(new Date()), { kind: 'env', variable: 'test' });
    expect(blindIndexEmail(other, 'john@example.com')).not.toBe(blindIndexEmail(kr, 'john@example.com'));
  });

  it('refuses what it cannot normalise', () => {
    expect(() => blindIndexEmail(kr, '   ')).toThrow(InvalidInputError);
    expect(() => blindIndexPhone(kr, 'not a phone')).toThrow(InvalidInputError);
    expect(() => blindIndexPhone(kr, '(555) 123-4567')).toThrow(InvalidInputError); // national, no country
  });

  it('hashes a search probe like its normalized query, never equal to the blind index it looks up', () => {
    const probe = searchProbeHash(kr, 'phone', '+1 555 123 4567');
    expect(probe).toBe(createHmac('sha256', Buffer.from(doc.indexKey, 'base64')).update('search-probe\0phone\0+15551234567').digest('hex'));
    expect(searchProbeHash(kr, 'phone', '(555) 123-4567', 'US')).toBe(probe);
    expect(probe).not.toBe(blindIndexPhone(kr, '+15551234567'));
    expect(searchProbeHash(kr, 'email', 'John@Example.com')).toBe(searchProbeHash(kr, 'email', 'john@example.com'));
    expect(searchProbeHash(kr, 'email', 'john@example.com')).not.toBe(blindIndexEmail(kr, 'john@example.com'));
    expect(() => searchProbeHash(kr, 'phone', 'not a phone')).toThrow(InvalidInputError);
  });
});
