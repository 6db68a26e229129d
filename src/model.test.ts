import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './errors.ts';
import { normalizePhone, parseCase, parseCustomer, parseEmployee, validPhone } from './model.ts';
import { demoCustomer } from './simulate/demo-org.ts';

const base = { id: 'c-1', email: 'ann@mail.example', phone: '+393123451001', name: 'Ann Example', country: 'IT' };

function errorOf(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidInputError) return err;
    throw err;
  }
  throw new Error('expected an InvalidInputError');
}

describe('phone numbers', () => {
  it('must be valid for their country, not only of a possible length', () => {
    expect(normalizePhone('12345', 'DE')).toBe('+4912345');
    expect(validPhone('12345', 'DE')).toBeUndefined();
    expect(validPhone('+15551234567')).toBeUndefined();
    expect(validPhone('0151 23456789', 'DE')).toBe('+4915123456789');
    const err = errorOf(() => parseCustomer({ ...base, country: 'DE', phone: '12345' }, { file: 'c.jsonl', line: 3 }));
    expect(err.message).toBe('c.jsonl:3: field "phone": is not a valid phone number in DE or in international form (+<country code>…)');
    expect(err.message).not.toContain('12345');
  });

  it('every demo customer has one', () => {
    for (let i = 1; i <= 2000; i++) expect(parseCustomer(demoCustomer(i)).pii.phone).toBe(demoCustomer(i).phone);
  });
});

describe('PII field names', () => {
  it('keeps fields named like Object.prototype members as PII, like any other', () => {
    const raw = JSON.parse(JSON.stringify({ ...base, constructor: 'c-value', toString: 't-value', hasOwnProperty: 'h-value', valueOf: 'v-value' })) as unknown;
    const { pii } = parseCustomer(raw);
    expect(Object.keys(pii).sort()).toEqual(['constructor', 'email', 'hasOwnProperty', 'name', 'phone', 'toString', 'valueOf']);
    expect(pii.constructor).toBe('c-value');
    expect(pii.toString).toBe('t-value');
  });

  it('refuses __proto__ with an error naming it, rather than dropping it', () => {
    const raw = JSON.parse('{"id":"c-1","email":"ann@mail.example","phone":"+393123451001","name":"Ann","country":"IT","__proto__":"secret"}') as unknown;
    expect(errorOf(() => parseCustomer(raw)).message).toMatch(/^field "__proto__": /);
    const employee = JSON.parse('{"id":"e-1","name":"E","team":"t","role":"agent","location":"x","hiredAt":"2024-01-01T00:00:00Z","__proto__":{"admin":true}}') as unknown;
    expect(errorOf(() => parseEmployee(employee)).message).toMatch(/^field "__proto__": is a reserved name/);
  });

  it('keeps extra employee and case fields of any other name', () => {
    const employee = parseEmployee({ id: 'e-1', name: 'E', team: 't', role: 'agent', location: 'x', hiredAt: '2024-01-01T00:00:00Z', constructor: 'k', toString: 's' });
    expect(employee.extra).toEqual({ constructor: 'k', toString: 's' });
    const k = parseCase({ id: 'k-1', employee: 'e-1', customer: 'c-1', openedAt: '2024-01-01T00:00:00Z', kind: 'refund', hasOwnProperty: 'h' });
    expect(Object.keys(k.extra!)).toEqual(['hasOwnProperty']);
  });
});

describe('times', () => {
  it('gives every valid time in the one form toISOString gives, whether it came in that form or not', () => {
    const opened = (openedAt: string) => parseCase({ id: 'k-1', employee: 'e-1', customer: 'c-1', openedAt, kind: 'refund' }).openedAt;
    expect(opened('2026-03-02T09:15:00.250Z')).toBe('2026-03-02T09:15:00.250Z');
    expect(opened('2026-03-02T09:15:00Z')).toBe('2026-03-02T09:15:00.000Z');
    expect(opened('2026-03-02T10:15:00.250+01:00')).toBe('2026-03-02T09:15:00.250Z');
    // Days past 28 and hour 24 take the long way (Date's own reading of them), not the shortcut.
    expect(opened('2024-02-29T23:00:00.000Z')).toBe('2024-02-29T23:00:00.000Z');
    expect(opened('2026-03-02T24:00:00.000Z')).toBe('2026-03-03T00:00:00.000Z');
    expect(errorOf(() => opened('2026-13-02T09:15:00.000Z')).message).toMatch(/^field "openedAt": must be an RFC 3339 date-time/);
  });
});

describe('errors never echo a value', () => {
  it('names the field, not what was in it', () => {
    const secret = 'ann.secret@mail.example';
    const messages = [
      errorOf(() => parseCustomer({ ...base, email: 'not an email ann.secret' })).message,
      errorOf(() => parseCustomer({ ...base, phone: secret })).message,
      errorOf(() => parseEmployee({ id: 'e-1', name: 'E', team: 't', role: 'agent', location: 'x', hiredAt: secret })).message,
      errorOf(() => parseCase({ id: 'k-1', employee: 'e-1', customer: 'c-1', openedAt: secret, kind: 'refund' })).message,
    ];
    for (const m of messages) expect(m).not.toContain('secret');
  });
});

describe('a customer\'s entity', () => {
  it('is a clear attribute (the legal entity holding the account), never sealed as PII', () => {
    const c = parseCustomer({ ...base, entity: 'uk', loyaltyId: 'L-1' });
    expect(c.entity).toBe('uk');
    expect(Object.keys(c.pii)).toEqual(['email', 'phone', 'name', 'loyaltyId']);
    expect(parseCustomer(base).entity).toBeUndefined();
    const err = errorOf(() => parseCustomer({ ...base, entity: 'not an id!' }, { file: 'c.jsonl', line: 7 }));
    expect(err.message).toMatch(/^c\.jsonl:7: field "entity": /);
  });
});
