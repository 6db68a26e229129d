/**
 * Per-customer data keys (DEKs) wrapped by the key ring's KEKs.
 *
 * Wrapped DEK, version 1:
 *   0x01 || kekIdLen (1 byte) || kekId (ASCII) || IV (12) || AES-256-GCM(DEK) (32) || tag (16)
 * AAD = "custos.dek\0" || 0x01 || u16 len || customerId (UTF-8) || u8 len || kekId, so a wrapped
 * key opens only for the customer it was made for, and only under the KEK its header names.
 *
 * Crypto-shredding: this wrapped blob is the only copy of a customer's DEK (nothing is escrowed);
 * deleting it makes every sealed field of that customer unreadable, backups of them included.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fillRandomIv } from './iv-pool.ts';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import type { Kek, KeyRing } from './keyring.ts';

export const DATA_KEY_BYTES = 32;
const WRAP_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_ID_BYTES = 1024;
const DEK_DOMAIN = Buffer.from('custos.dek\0', 'latin1');

/** Where a wrapped key's parts lie; views into the caller's bytes, not copies. */
interface WrappedParts {
  kekId: string;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

export function checkCustomerId(customerId: string): Buffer {
  const bytes = typeof customerId === 'string' ? Buffer.from(customerId, 'utf8') : undefined;
  if (!bytes || bytes.length === 0 || bytes.length > MAX_ID_BYTES) {
    throw new InvalidInputError(`customerId must be a string of 1-${MAX_ID_BYTES} bytes`, { field: 'customerId' });
  }
  return bytes;
}

function dekAad(customerId: string, kekId: string): Buffer {
  const id = checkCustomerId(customerId);
  const kek = Buffer.from(kekId, 'latin1');
  const aad = Buffer.allocUnsafe(DEK_DOMAIN.length + 1 + 2 + id.length + 1 + kek.length);
  let o = DEK_DOMAIN.copy(aad, 0);
  o = aad.writeUInt8(WRAP_VERSION, o);
  o = aad.writeUInt16BE(id.length, o);
  o += id.copy(aad, o);
  o = aad.writeUInt8(kek.length, o);
  kek.copy(aad, o);
  return aad;
}

function malformed(customerId: string, why: string): IntegrityError {
  return new IntegrityError(`wrapped data key of customer "${customerId}" is malformed: ${why}`, { customerId, reason: 'malformed' });
}

function parseWrapped(customerId: string, wrapped: Uint8Array): WrappedParts {
  if (!(wrapped instanceof Uint8Array)) throw new InvalidInputError('wrapped data key must be bytes', { field: 'wrapped' });
  if (wrapped.length < 2) throw malformed(customerId, 'too short');
  if (wrapped[0] !== WRAP_VERSION) throw malformed(customerId, `unknown format version ${wrapped[0]}`);
  const idLen = wrapped[1]!;
  const ivAt = 2 + idLen;
  const expected = ivAt + IV_BYTES + DATA_KEY_BYTES + TAG_BYTES;
  if (idLen === 0 || wrapped.length !== expected) throw malformed(customerId, `length ${wrapped.length}, expected ${idLen === 0 ? 'a KEK id' : expected}`);
  return {
    kekId: Buffer.from(wrapped.buffer, wrapped.byteOffset + 2, idLen).toString('latin1'),
    iv: wrapped.subarray(ivAt, ivAt + IV_BYTES),
    ciphertext: wrapped.subarray(ivAt + IV_BYTES, ivAt + IV_BYTES + DATA_KEY_BYTES),
    tag: wrapped.subarray(expected - TAG_BYTES),
  };
}

/** The id of the KEK a wrapped key is under (for the re-wrap pass and for checking before retiring). */
export function wrappedKekId(wrapped: Uint8Array): string {
  return parseWrapped('?', wrapped).kekId;
}

function wrap(kek: Kek & { key: NonNullable<Kek['key']> }, customerId: string, dataKey: Uint8Array): Buffer {
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_BYTES) {
    throw new InvalidInputError(`data key must be ${DATA_KEY_BYTES} bytes`, { field: 'dataKey' });
  }
  const aad = dekAad(customerId, kek.id);
  const kekId = Buffer.from(kek.id, 'latin1');
  const ivAt = 2 + kekId.length;
  const out = Buffer.allocUnsafe(ivAt + IV_BYTES + DATA_KEY_BYTES + TAG_BYTES);
  out[0] = WRAP_VERSION;
  out[1] = kekId.length;
  kekId.copy(out, 2);
  // A random 96-bit IV per wrap: fine for well under 2^32 wraps per KEK (NIST SP 800-38D §8.3).
  const iv = fillRandomIv(out.subarray(ivAt, ivAt + IV_BYTES));
  const cipher = createCipheriv('aes-256-gcm', kek.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ct = cipher.update(dataKey);
  cipher.final();
  ct.copy(out, ivAt + IV_BYTES);
  ct.fill(0);
  cipher.getAuthTag().copy(out, ivAt + IV_BYTES + DATA_KEY_BYTES);
  return out;
}

/** A fresh random data key for a customer, and its wrapping under the current KEK. Zero `dataKey` when done. */
export function newDataKey(keyring: KeyRing, customerId: string): { dataKey: Buffer; wrapped: Buffer } {
  const dataKey = randomBytes(DATA_KEY_BYTES);
  return { dataKey, wrapped: wrap(keyring.current, customerId, dataKey) };
}

/**
 * Open a wrapped data key. IntegrityError when it is malformed, when its KEK is unknown or
 * retired, or when it does not authenticate for this customer under that KEK.
 */
export function unwrapDataKey(keyring: KeyRing, customerId: string, wrapped: Uint8Array): Buffer {
  const parts = parseWrapped(customerId, wrapped);
  const kek = keyring.kek(parts.kekId);
  if (!kek) {
    throw new IntegrityError(`data key of customer "${customerId}" is wrapped under KEK "${parts.kekId}", which this key ring does not hold (wrong key ring?)`, {
      customerId,
      kekId: parts.kekId,
      reason: 'kek_unknown',
    });
  }
  if (!kek.key) {
    throw new IntegrityError(
      `data key of customer "${customerId}" is wrapped under KEK "${parts.kekId}", retired at ${kek.retiredAt}; its material is destroyed, so this key cannot be opened (was the re-wrap pass complete?)`,
      { customerId, kekId: parts.kekId, reason: 'kek_retired' },
    );
  }
  const decipher = createDecipheriv('aes-256-gcm', kek.key, parts.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(dekAad(customerId, parts.kekId));
  decipher.setAuthTag(parts.tag);
  const dataKey = decipher.update(parts.ciphertext);
  try {
    decipher.final();
  } catch {
    dataKey.fill(0);
    throw new IntegrityError(`data key of customer "${customerId}" did not authenticate under KEK "${parts.kekId}"`, {
      customerId,
      kekId: parts.kekId,
      reason: 'auth_failed',
    });
  }
  return dataKey;
}

/**
 * The wrapped key re-wrapped under the current KEK, for the rotation pass. Returns `wrapped`
 * itself (same object) when it is already under the current KEK, so `out !== wrapped` says
 * whether the row needs writing.
 */
export function rewrapDataKey<T extends Uint8Array>(keyring: KeyRing, customerId: string, wrapped: T): T | Buffer {
  if (parseWrapped(customerId, wrapped).kekId === keyring.currentKekId) return wrapped;
  const dataKey = unwrapDataKey(keyring, customerId, wrapped);
  try {
    return wrap(keyring.current, customerId, dataKey);
  } finally {
    dataKey.fill(0);
  }
}

// ---------------------------------------------------------------- cache

export const DEFAULT_DATA_KEY_CACHE_SIZE = 10_000;

/**
 * A bounded LRU of unwrapped data keys for the broker: one unwrap per customer instead of one
 * per reveal. Keyed by customer id + the exact wrapped bytes, so a re-imported or re-wrapped
 * key misses, and another customer's wrapped bytes are never served from the cache.
 *
 * The returned Buffer belongs to the cache: use it synchronously and do not keep it. Evicted
 * and cleared keys are zero-filled (best effort: V8 may have copied them, and a kept reference
 * would then fail to open fields, loudly, with IntegrityError rather than return garbage).
 * The cache empties itself when handed a different key ring (after a reload or rotation).
 */
export class DataKeyCache {
  readonly maxEntries: number;
  readonly #entries = new Map<string, Buffer>();
  #keyring: KeyRing | undefined;

  constructor(opts: { maxEntries?: number } = {}) {
    const max = opts.maxEntries ?? DEFAULT_DATA_KEY_CACHE_SIZE;
    if (!Number.isInteger(max) || max < 0) throw new InvalidInputError('maxEntries must be a whole number ≥ 0', { field: 'maxEntries' });
    this.maxEntries = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The unwrapped data key of `customerId` (see unwrapDataKey), from the cache when it can. */
  get(keyring: KeyRing, customerId: string, wrapped: Uint8Array): Buffer {
    if (keyring !== this.#keyring) {
      this.clear();
      this.#keyring = keyring;
    }
    if (!(wrapped instanceof Uint8Array)) throw new InvalidInputError('wrapped data key must be bytes', { field: 'wrapped' });
    // Length-prefixed so no (id, bytes) pair can collide with another; latin1 maps bytes 1:1.
    const key = `${customerId.length}:${customerId}${Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.length).toString('latin1')}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key); // re-insert: Map order is the recency order
      this.#entries.set(key, hit);
      return hit;
    }
    const dataKey = unwrapDataKey(keyring, customerId, wrapped);
    if (this.maxEntries === 0) return dataKey;
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) {
        this.#entries.get(oldest.value)?.fill(0);
        this.#entries.delete(oldest.value);
      }
    }
    this.#entries.set(key, dataKey);
    return dataKey;
  }

  /** Drop (and zero) a customer's cached keys: call when the customer is deleted, so a shredded key does not linger here. */
  forget(customerId: string): void {
    const prefix = `${customerId.length}:${customerId}`;
    for (const [key, dataKey] of this.#entries) {
      if (!key.startsWith(prefix)) continue;
      dataKey.fill(0);
      this.#entries.delete(key);
    }
  }

  /** Drop (and zero) every cached key; call on rotation or key-ring reload. */
  clear(): void {
    for (const k of this.#entries.values()) k.fill(0);
    this.#entries.clear();
  }
}
