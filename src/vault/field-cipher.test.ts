import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { openField, sealField } from './field-cipher.ts';

const dek = randomBytes(32);

function expectIntegrity(fn: () => unknown): void {
  expect(fn).toThrow(IntegrityError);
}

describe('sealField / openField', () => {
  it.each(['jane@example.com', '', 'Zoë Ωmega 🇮🇹 👨‍👩‍👧', 'x'.repeat(100_000), 'line\nbreak\0nul'])('round-trips %#', (value) => {
    const sealed = sealField(dek, 'cust-1', 'note', value);
    expect(openField(dek, 'cust-1', 'note', sealed)).toBe(value);
  });

  it('uses the versioned layout: 0x01 || IV(12) || ciphertext || tag(16), with a fresh IV each time', () => {
    const value = 'jane@example.com';
    const a = sealField(dek, 'cust-1', 'email', value);
    const b = sealField(dek, 'cust-1', 'email', value);
    expect(a[0]).toBe(1);
    expect(a.length).toBe(1 + 12 + Buffer.byteLength(value) + 16);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.includes(Buffer.from(value))).toBe(false);
  });

  it('opens a Uint8Array view into a larger buffer (as a store may return)', () => {
    const sealed = sealField(dek, 'cust-1', 'email', 'a@b.example');
    const big = new Uint8Array(sealed.length + 10);
    big.set(sealed, 5);
    expect(openField(new Uint8Array(dek), 'cust-1', 'email', big.subarray(5, 5 + sealed.length))).toBe('a@b.example');
  });

  it('rejects every single-byte change anywhere in the ciphertext', () => {
    const sealed = sealField(dek, 'cust-1', 'email', 'jane@example.com');
    for (let i = 0; i < sealed.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const bad = Buffer.from(sealed);
        bad[i]! ^= flip;
        expectIntegrity(() => openField(dek, 'cust-1', 'email', bad));
      }
    }
  });

  it('rejects truncated, extended and empty ciphertexts', () => {
    const sealed = sealField(dek, 'cust-1', 'email', 'jane@example.com');
    expectIntegrity(() => openField(dek, 'cust-1', 'email', sealed.subarray(0, sealed.length - 1)));
    expectIntegrity(() => openField(dek, 'cust-1', 'email', Buffer.concat([sealed, Buffer.of(0)])));
    expectIntegrity(() => openField(dek, 'cust-1', 'email', sealed.subarray(0, 28)));
    expectIntegrity(() => openField(dek, 'cust-1', 'email', Buffer.alloc(0)));
  });

  it('does not open one field as another of the same customer', () => {
    const email = sealField(dek, 'cust-1', 'email', 'jane@example.com');
    const phone = sealField(dek, 'cust-1', 'phone', '+15551234567');
    expectIntegrity(() => openField(dek, 'cust-1', 'phone', email));
    expectIntegrity(() => openField(dek, 'cust-1', 'email', phone));
  });

  it('does not open one customer’s field as another’s, even under the same data key', () => {
    const sealed = sealField(dek, 'cust-1', 'email', 'jane@example.com');
    expectIntegrity(() => openField(dek, 'cust-2', 'email', sealed));
    const other = randomBytes(32);
    expectIntegrity(() => openField(other, 'cust-1', 'email', sealed));
  });

  it('binds id and field unambiguously ("a"+"bc" is not "ab"+"c")', () => {
    const sealed = sealField(dek, 'a', 'bc', 'v');
    expectIntegrity(() => openField(dek, 'ab', 'c', sealed));
  });

  it('rejects an unknown format version even with a valid tag position', () => {
    const sealed = sealField(dek, 'cust-1', 'email', 'x');
    sealed[0] = 2;
    expect(() => openField(dek, 'cust-1', 'email', sealed)).toThrow(/format version 2/);
  });

  it('never puts the value in the error', () => {
    const sealed = sealField(dek, 'cust-1', 'email', 'jane@example.com');
    sealed[20]! ^= 1;
    try {
      openField(dek, 'cust-1', 'email', sealed);
      expect.unreachable();
    } catch (err) {
      expect(JSON.stringify({ m: (err as Error).message, d: (err as IntegrityError).details })).not.toContain('jane');
    }
  });

  it('refuses bad arguments with InvalidInputError', () => {
    expect(() => sealField(randomBytes(16), 'c', 'email', 'x')).toThrow(InvalidInputError);
    expect(() => sealField(dek, '', 'email', 'x')).toThrow(InvalidInputError);
    expect(() => sealField(dek, 'c', '', 'x')).toThrow(InvalidInputError);
    expect(() => sealField(dek, 'c', 'email', 'bad \uD800 surrogate')).toThrow(InvalidInputError);
    expect(() => sealField(dek, 'c', 'email', 42 as unknown as string)).toThrow(InvalidInputError);
    expect(() => openField(dek, 'c', 'email', 'text' as unknown as Uint8Array)).toThrow(InvalidInputError);
  });
});
