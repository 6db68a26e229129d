import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskEmail, maskField, maskGeneric, maskName, maskPhone } from './mask.ts';

describe('maskEmail', () => {
  it.each([
    ['john.doe@mail.example', 'j***@m***.example'],
    ['John@Example.COM', 'J***@E***.COM'],
    ['  jane@example.com ', 'j***@e***.com'],
    ['a@b.c.example', 'a***@b***.example'],
    ['jane@example.co.uk', 'j***@e***.uk'],
    ['john@localhost', 'j***@l***'],
    ['a@b@mail.example', 'a***@m***.example'],
    ['ñandú@correo.es', 'ñ***@c***.es'],
    ['e\u0301mile@mail.example', '\u00e9***@m***.example'],
    ['user@почта.рф', 'u***@п***.рф'],
    ['user@mail.xn--p1ai', 'u***@m***.xn--p1ai'],
    ['😀x@mail.example', '***@m***.example'],
    ['\u202Eevil@mail.example', '***@m***.example'],
    ['user@mail.c0m', 'u***@m***.***'],
    ['user@1.2.3.4', 'u***@1***.***'],
    ['', '***'],
    ['no-at-sign', '***'],
    ['@example.com', '***'],
    ['john@', '***'],
    ['john@example..com', '***'],
    ['john@.com', '***'],
    ['john@example.com.', '***'],
    ['jo hn@example.com', '***'],
  ])('%j → %j', (value, masked) => {
    expect(maskEmail(value)).toBe(masked);
  });
});

describe('maskPhone', () => {
  it.each([
    ['+15551234567', undefined, '+1 ***-***-4567'],
    ['+1 555 123 4567 ext. 89', undefined, '+1 ***-***-4567'],
    ['(555) 123-4567', 'US', '+1 ***-***-4567'],
    ['+442071234567', undefined, '+44 ***-***-4567'],
    ['020 7123 4567', 'GB', '+44 ***-***-4567'],
    ['+393331234567', 'IT', '+39 ***-***-4567'],
    ['+3545551234', undefined, '+354 ***-***-****'],
    ['(555) 123-4567', undefined, '***'],
    ['(555) 123-4567', 'ZZ', '***'],
    ['12', 'US', '***'],
    ['not a phone', undefined, '***'],
    ['', undefined, '***'],
  ])('%j (%s) → %j', (value, country, masked) => {
    expect(maskPhone(value, country)).toBe(masked);
  });
});

describe('maskName', () => {
  it.each([
    ['Jane Doe', 'J*** D***'],
    ['  jane   van der\tBerg ', 'j*** v*** d*** B***'],
    ['Zoë', 'Z***'],
    ['Łukasz Żółć', 'Ł*** Ż***'],
    ['李小龙', '李***'],
    ["O'Brien", 'O***'],
    ['J', 'J***'],
    ['\u202EJane Doe', '*** D***'],
    ['😀 Smith', '*** S***'],
    ['', '***'],
    ['   ', '***'],
  ])('%j → %j', (value, masked) => {
    expect(maskName(value)).toBe(masked);
  });
});

describe('maskGeneric', () => {
  it.each([
    ['1990-01-01', '1***'],
    ['Via Roma 1, Milano', 'V***'],
    ['123456', '1***'],
    ['12345', '***'],
    ['ab', '***'],
    ['', '***'],
    ['😀😀😀😀😀😀', '***'],
    ['      x     ', '***'],
  ])('%j → %j', (value, masked) => {
    expect(maskGeneric(value)).toBe(masked);
  });
});

describe('maskField', () => {
  it('picks the rule by field name', () => {
    expect(maskField('email', 'john.doe@mail.example')).toBe('j***@m***.example');
    expect(maskField('phone', '(555) 123-4567', 'US')).toBe('+1 ***-***-4567');
    expect(maskField('name', 'Jane Doe')).toBe('J*** D***');
    expect(maskField('address', 'Via Roma 1, Milano')).toBe('V***');
  });

  it('is safe on non-strings that slip through', () => {
    for (const f of ['email', 'phone', 'name', 'dob']) expect(maskField(f, undefined as unknown as string)).toBe('***');
  });
});

// Letters and digits a mask shows; "*", "@", ".", "+", "-" and blanks are its own scaffolding.
function shown(masked: string): string[] {
  return [...masked].filter((c) => /[\p{L}\p{N}]/u.test(c));
}

describe('masks never show more than their rule allows', () => {
  const anyText = fc.string({ unit: 'binary', maxLength: 40 });

  it('generic: at most one character, never for short values', () => {
    fc.assert(
      fc.property(anyText, (v) => {
        const m = maskGeneric(v);
        expect(shown(m).length).toBeLessThanOrEqual(1);
        expect(m.endsWith('***')).toBe(true);
      }),
    );
  });

  it('name: at most one character per word', () => {
    fc.assert(
      fc.property(anyText, (v) => {
        const words = v.trim().split(/\s+/u).filter(Boolean).length;
        expect(shown(maskName(v)).length).toBeLessThanOrEqual(Math.max(words, 0));
      }),
    );
  });

  it('email: at most two characters besides the TLD', () => {
    const local = fc.string({ unit: 'binary', minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(local, local, anyText, (l, d, t) => {
        for (const v of [`${l}@${d}.${t}`, `${l}@${d}`, l]) {
          const m = maskEmail(v);
          const tld = /\.([^.]+)$/u.exec(m)?.[1];
          const withoutTld = tld && tld !== '***' ? m.slice(0, -tld.length) : m;
          expect(shown(withoutTld).length).toBeLessThanOrEqual(2);
          if (tld && tld !== '***') expect(v.normalize('NFC').trim().endsWith(`.${tld}`)).toBe(true);
        }
      }),
    );
  });

  it('phone: a short number lengthened by its country\'s rules shows no digits', () => {
    // San Marino: libphonenumber reads +378 800000 as 0549 800000; only six digits were given.
    expect(maskPhone('+378800000')).toBe('+378 ***-***-****');
  });

  it('phone: calling code and at most four digits, from at least eight', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 4, maxLength: 15 });
    fc.assert(
      fc.property(digits, (d) => {
        const m = maskPhone(`+${d}`);
        if (m === '***') return;
        const [code, rest] = m.split(' ') as [string, string];
        expect(d.startsWith(code.slice(1))).toBe(true);
        const tail = rest.replace(/[^0-9]/g, '');
        expect(tail.length === 0 || (tail.length === 4 && d.length - (code.length - 1) >= 8)).toBe(true);
      }),
    );
  });
});
