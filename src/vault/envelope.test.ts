import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { DataKeyCache, newDataKey, rewrapDataKey, unwrapDataKey, wrappedKekId } from './envelope.ts';
import { openField, sealField } from './field-cipher.ts';
import { createKeyRingFile, KEY_FILE_NAME, KeyRing, newKeyRingDocument, readKeyRingFile, retireKek, rotateKek, withNewKek } from './keyring.ts';

const T0 = new Date('2026-01-31T09:00:00Z');
const T1 = new Date('2026-03-01T09:00:00Z');

function ring(doc = newKeyRingDocument(T0)): KeyRing {
  return new KeyRing(doc, { kind: 'env', variable: 'test' });
}

function integrityReason(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IntegrityError);
    return (err as IntegrityError).details.reason;
  }
  expect.unreachable('expected an IntegrityError');
}

describe('newDataKey / unwrapDataKey', () => {
  const kr = ring();

  it('round-trips a fresh 32-byte key, wrapped in the versioned layout naming the KEK', () => {
    const { dataKey, wrapped } = newDataKey(kr, 'cust-1');
    expect(dataKey).toHaveLength(32);
    const id = Buffer.from(kr.currentKekId, 'latin1');
    expect(wrapped[0]).toBe(1);
    expect(wrapped[1]).toBe(id.length);
    expect(wrapped.subarray(2, 2 + id.length).equals(id)).toBe(true);
    expect(wrapped.length).toBe(2 + id.length + 12 + 32 + 16);
    expect(wrapped.includes(dataKey)).toBe(false);
    expect(wrappedKekId(wrapped)).toBe(kr.currentKekId);
    expect(unwrapDataKey(kr, 'cust-1', wrapped).equals(dataKey)).toBe(true);
  });

  it('makes a different key for every call', () => {
    expect(newDataKey(kr, 'c').dataKey.equals(newDataKey(kr, 'c').dataKey)).toBe(false);
  });

  it('refuses a wrapped key moved to another customer', () => {
    const a = newDataKey(kr, 'cust-a');
    newDataKey(kr, 'cust-b');
    expect(integrityReason(() => unwrapDataKey(kr, 'cust-b', a.wrapped))).toBe('auth_failed');
  });

  it('rejects every single-byte change', () => {
    const { wrapped } = newDataKey(kr, 'cust-1');
    for (let i = 0; i < wrapped.length; i++) {
      const bad = Buffer.from(wrapped);
      bad[i]! ^= 0x01;
      expect(() => unwrapDataKey(kr, 'cust-1', bad)).toThrow(IntegrityError);
    }
  });

  it('rejects truncated, extended and unknown-version keys as malformed', () => {
    const { wrapped } = newDataKey(kr, 'cust-1');
    expect(integrityReason(() => unwrapDataKey(kr, 'cust-1', wrapped.subarray(0, wrapped.length - 1)))).toBe('malformed');
    expect(integrityReason(() => unwrapDataKey(kr, 'cust-1', Buffer.concat([wrapped, Buffer.of(0)])))).toBe('malformed');
    expect(integrityReason(() => unwrapDataKey(kr, 'cust-1', Buffer.alloc(0)))).toBe('malformed');
    const v2 = Buffer.from(wrapped);
    v2[0] = 2;
    expect(integrityReason(() => unwrapDataKey(kr, 'cust-1', v2))).toBe('malformed');
  });

  it('fails with another key ring: unknown KEK id, or same id with other material', () => {
    const { wrapped } = newDataKey(kr, 'cust-1');
    expect(integrityReason(() => unwrapDataKey(ring(), 'cust-1', wrapped))).toBe('kek_unknown');
    const impostor = newKeyRingDocument(T0);
    impostor.currentKek = kr.currentKekId;
    impostor.keks[0]!.id = kr.currentKekId;
    expect(integrityReason(() => unwrapDataKey(ring(impostor), 'cust-1', wrapped))).toBe('auth_failed');
  });

  it('refuses bad arguments with InvalidInputError', () => {
    expect(() => newDataKey(kr, '')).toThrow(InvalidInputError);
    expect(() => unwrapDataKey(kr, 'c', 'abc' as unknown as Uint8Array)).toThrow(InvalidInputError);
  });
});

describe('rewrapDataKey', () => {
  it('returns the very same bytes when already under the current KEK', () => {
    const kr = ring();
    const { wrapped } = newDataKey(kr, 'c1');
    expect(rewrapDataKey(kr, 'c1', wrapped)).toBe(wrapped);
  });

  it('moves a key to the current KEK, keeping the data key', () => {
    const doc = newKeyRingDocument(T0);
    const before = ring(doc);
    const { dataKey, wrapped } = newDataKey(before, 'c1');
    const after = ring(withNewKek(doc, T1));
    const moved = rewrapDataKey(after, 'c1', wrapped);
    expect(moved).not.toBe(wrapped);
    expect(wrappedKekId(moved)).toBe(after.currentKekId);
    expect(unwrapDataKey(after, 'c1', moved).equals(dataKey)).toBe(true);
  });

  it('will not re-wrap a key that does not authenticate for the customer', () => {
    const doc = newKeyRingDocument(T0);
    const { wrapped } = newDataKey(ring(doc), 'c1');
    expect(() => rewrapDataKey(ring(withNewKek(doc, T1)), 'c2', wrapped)).toThrow(IntegrityError);
  });
});

describe('rotation end to end', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'custos-rotate-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('after rotate, re-wrap and retire, data opens with only the new KEK; an un-rewrapped key fails clearly', () => {
    const path = join(dir, KEY_FILE_NAME);
    const first = createKeyRingFile(path, T0);
    const customers = ['c1', 'c2', 'c3'].map((id) => {
      const { dataKey, wrapped } = newDataKey(first, id);
      const sealed = sealField(dataKey, id, 'email', `${id}@example.com`);
      return { id, wrapped, sealed };
    });

    const rotated = rotateKek(path, T1);
    // The re-wrap pass over c1 and c2; c3 is "missed" on purpose.
    const rewrapped = customers.slice(0, 2).map((c) => ({ ...c, wrapped: rewrapDataKey(rotated, c.id, c.wrapped) }));
    retireKek(path, first.currentKekId, T1);

    const only = readKeyRingFile(path);
    expect(only.kek(first.currentKekId)?.key).toBeUndefined();
    for (const c of rewrapped) {
      const dataKey = unwrapDataKey(only, c.id, c.wrapped);
      expect(openField(dataKey, c.id, 'email', c.sealed)).toBe(`${c.id}@example.com`);
    }
    const missed = customers[2]!;
    let caught: unknown;
    try {
      unwrapDataKey(only, missed.id, missed.wrapped);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IntegrityError);
    expect((caught as IntegrityError).message).toContain(`KEK "${first.currentKekId}", retired at ${T1.toISOString()}`);
    expect((caught as IntegrityError).details).toMatchObject({ reason: 'kek_retired', kekId: first.currentKekId, customerId: 'c3' });
  });
});

describe('DataKeyCache', () => {
  const kr = ring();
  const keys = Array.from({ length: 5 }, (_, i) => ({ id: `c${i}`, ...newDataKey(kr, `c${i}`) }));

  it('returns the unwrapped key, and the same Buffer on a hit', () => {
    const cache = new DataKeyCache({ maxEntries: 3 });
    const k = keys[0]!;
    const a = cache.get(kr, k.id, k.wrapped);
    expect(a.equals(k.dataKey)).toBe(true);
    expect(cache.get(kr, k.id, new Uint8Array(k.wrapped))).toBe(a);
    expect(cache.size).toBe(1);
  });

  it('stays within its bound, evicts the least recently used, and zero-fills it', () => {
    const cache = new DataKeyCache({ maxEntries: 2 });
    const [k0, k1, k2] = [keys[0]!, keys[1]!, keys[2]!];
    const d0 = cache.get(kr, k0.id, k0.wrapped);
    const d1 = cache.get(kr, k1.id, k1.wrapped);
    expect(cache.get(kr, k0.id, k0.wrapped)).toBe(d0); // k0 now most recent
    cache.get(kr, k2.id, k2.wrapped); // evicts k1
    expect(cache.size).toBe(2);
    expect(d1.equals(Buffer.alloc(32))).toBe(true);
    expect(d0.equals(k0.dataKey)).toBe(true);
    expect(cache.get(kr, k0.id, k0.wrapped)).toBe(d0);
    const again = cache.get(kr, k1.id, k1.wrapped);
    expect(again).not.toBe(d1);
    expect(again.equals(k1.dataKey)).toBe(true);
  });

  it('never serves one customer’s key for another’s id', () => {
    const cache = new DataKeyCache();
    const k0 = keys[0]!;
    cache.get(kr, k0.id, k0.wrapped);
    expect(() => cache.get(kr, 'c1', k0.wrapped)).toThrow(IntegrityError);
  });

  it('misses when the wrapped bytes change (re-import, re-wrap)', () => {
    const cache = new DataKeyCache();
    const first = newDataKey(kr, 'cx');
    const second = newDataKey(kr, 'cx');
    expect(cache.get(kr, 'cx', first.wrapped).equals(first.dataKey)).toBe(true);
    expect(cache.get(kr, 'cx', second.wrapped).equals(second.dataKey)).toBe(true);
  });

  it('empties and zero-fills itself when handed another key ring, and on clear()', () => {
    const cache = new DataKeyCache();
    const k0 = keys[0]!;
    const d0 = cache.get(kr, k0.id, k0.wrapped);
    const other = ring();
    const o = newDataKey(other, 'c0');
    cache.get(other, 'c0', o.wrapped);
    expect(d0.equals(Buffer.alloc(32))).toBe(true);
    expect(cache.size).toBe(1);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('forgets a deleted customer’s keys, zeroed, and only theirs', () => {
    const cache = new DataKeyCache();
    const [k0, k1] = [keys[0]!, keys[1]!];
    const older = newDataKey(kr, k0.id);
    const d0 = cache.get(kr, k0.id, k0.wrapped);
    const d0old = cache.get(kr, k0.id, older.wrapped);
    const d1 = cache.get(kr, k1.id, k1.wrapped);
    cache.forget(k0.id);
    expect(cache.size).toBe(1);
    expect(d0.equals(Buffer.alloc(32))).toBe(true);
    expect(d0old.equals(Buffer.alloc(32))).toBe(true);
    expect(cache.get(kr, k1.id, k1.wrapped)).toBe(d1);
  });

  it('does not cache failures', () => {
    const cache = new DataKeyCache();
    const bad = Buffer.from(keys[0]!.wrapped);
    bad[bad.length - 1]! ^= 1;
    expect(() => cache.get(kr, 'c0', bad)).toThrow(IntegrityError);
    expect(cache.size).toBe(0);
  });

  it('refuses a bad size', () => {
    expect(() => new DataKeyCache({ maxEntries: -1 })).toThrow(InvalidInputError);
    expect(new DataKeyCache().maxEntries).toBe(10_000);
  });
});
