import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { parseCustomer } from '../model.ts';
import { blindIndexEmail, blindIndexPhone } from './blind-index.ts';
import { unwrapDataKey, wrappedKekId } from './envelope.ts';
import { openField } from './field-cipher.ts';
import { KeyRing, newKeyRingDocument } from './keyring.ts';
import { customerSealer, sealCustomerPii } from './seal-customer.ts';

const kr = new KeyRing(newKeyRingDocument(new Date('2026-01-31T09:00:00Z')), { kind: 'env', variable: 'test' });

describe('customerSealer', () => {
  const input = parseCustomer({
    id: 'cust-7',
    country: 'US',
    region: 'US-CA',
    email: 'John.Doe@Mail.Example',
    phone: '(201) 555-0123',
    name: 'John Doe',
    dob: '1990-01-01',
    vip: 'true',
  });

  it('seals every PII field under a fresh wrapped key, with masks and indexes', () => {
    const rec = customerSealer(kr)(input);
    expect(rec).toMatchObject({ id: 'cust-7', country: 'US', region: 'US-CA', locale: null, canary: false, vip: true });
    expect(rec.fields).toEqual(['email', 'phone', 'name', 'dob']);
    expect(wrappedKekId(rec.wrappedKey)).toBe(kr.currentKekId);
    const dataKey = unwrapDataKey(kr, 'cust-7', rec.wrappedKey);
    for (const f of rec.fields) expect(openField(dataKey, 'cust-7', f, rec.sealed[f]!)).toBe(input.pii[f]);
    expect(rec.masked).toEqual({ email: 'J***@M***.Example', phone: '+1 ***-***-0123', name: 'J*** D***', dob: '1***' });
    expect(rec.emailIndex).toBe(blindIndexEmail(kr, 'john.doe@mail.example'));
    expect(rec.phoneIndex).toBe(blindIndexPhone(kr, '+12015550123'));
    // Nothing in clear outside the masks.
    const stored = JSON.stringify({ ...rec, wrappedKey: rec.wrappedKey.toString('base64'), sealed: Object.values(rec.sealed).map((b) => b.toString('base64')), masked: null });
    for (const v of Object.values(input.pii)) expect(stored).not.toContain(v);
  });

  it('makes a new data key on every seal (re-import replaces the key)', () => {
    const a = sealCustomerPii(kr, 'c', { email: 'a@b.example' });
    const b = sealCustomerPii(kr, 'c', { email: 'a@b.example' });
    expect(unwrapDataKey(kr, 'c', a.wrappedKey).equals(unwrapDataKey(kr, 'c', b.wrappedKey))).toBe(false);
    expect(a.phoneIndex).toBeNull();
  });

  it('refuses a phone it cannot read', () => {
    expect(() => sealCustomerPii(kr, 'c', { phone: 'nope' }, 'US')).toThrow(InvalidInputError);
  });
});
