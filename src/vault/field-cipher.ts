/**
 * One PII field sealed under its customer's data key.
 *
 * Sealed field, version 1:   0x01 || IV (12) || AES-256-GCM ciphertext || tag (16)
 * AAD = "custos.field\0" || 0x01 || u16 len || customerId (UTF-8) || u16 len || field (UTF-8),
 * so a sealed value opens only as the field, of the customer, it was sealed for.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { fillRandomIv } from './iv-pool.ts';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { checkCustomerId, DATA_KEY_BYTES } from './envelope.ts';

const FIELD_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES;
const MAX_FIELD_NAME_BYTES = 1024;
const FIELD_DOMAIN = Buffer.from('custos.field\0', 'latin1');
// A lone surrogate cannot be encoded as UTF-8; it would come back as U+FFFD, altered.
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function fieldAad(customerId: string, field: string): Buffer {
  const id = checkCustomerId(customerId);
  const name = typeof field === 'string' ? Buffer.from(field, 'utf8') : undefined;
  if (!name || name.length === 0 || name.length > MAX_FIELD_NAME_BYTES) {
    throw new InvalidInputError(`field name must be a string of 1-${MAX_FIELD_NAME_BYTES} bytes`, { field: 'field' });
  }
  const aad = Buffer.allocUnsafe(FIELD_DOMAIN.length + 1 + 2 + id.length + 2 + name.length);
  let o = FIELD_DOMAIN.copy(aad, 0);
  o = aad.writeUInt8(FIELD_VERSION, o);
  o = aad.writeUInt16BE(id.length, o);
  o += id.copy(aad, o);
  o = aad.writeUInt16BE(name.length, o);
  name.copy(aad, o);
  return aad;
}

function checkDataKey(dataKey: Uint8Array): void {
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_BYTES) {
    throw new InvalidInputError(`data key must be ${DATA_KEY_BYTES} bytes`, { field: 'dataKey' });
  }
}

/** Encrypt one field value for one customer. */
export function sealField(dataKey: Uint8Array, customerId: string, field: string, plaintext: string): Buffer {
  checkDataKey(dataKey);
  if (typeof plaintext !== 'string') throw new InvalidInputError(`field "${field}" must be a string`, { field });
  if (LONE_SURROGATE_RE.test(plaintext)) throw new InvalidInputError(`field "${field}" is not well-formed Unicode`, { field });
  const aad = fieldAad(customerId, field);
  const pt = Buffer.from(plaintext, 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + pt.length + TAG_BYTES);
  out[0] = FIELD_VERSION;
  // Random IV per seal: a data key seals a handful of fields, far below the 2^32 that
  // NIST SP 800-38D §8.3 allows per key with random IVs (re-import makes a new key).
  const iv = fillRandomIv(out.subarray(1, HEADER_BYTES));
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ct = cipher.update(pt);
  cipher.final(); // GCM is a stream mode: final() adds no bytes
  ct.copy(out, HEADER_BYTES);
  pt.fill(0);
  cipher.getAuthTag().copy(out, HEADER_BYTES + ct.length);
  return out;
}

/**
 * Decrypt one field. IntegrityError unless `sealed` authenticates as exactly this field of
 * exactly this customer under this data key: nothing is returned from a failed open.
 */
export function openField(dataKey: Uint8Array, customerId: string, field: string, sealed: Uint8Array): string {
  checkDataKey(dataKey);
  if (!(sealed instanceof Uint8Array)) throw new InvalidInputError(`sealed field "${field}" must be bytes`, { field });
  const aad = fieldAad(customerId, field);
  if (sealed.length < HEADER_BYTES + TAG_BYTES) {
    throw new IntegrityError(`sealed field "${field}" of customer "${customerId}" is malformed: too short`, { customerId, field, reason: 'malformed' });
  }
  if (sealed[0] !== FIELD_VERSION) {
    throw new IntegrityError(`sealed field "${field}" of customer "${customerId}" has unknown format version ${sealed[0]}`, { customerId, field, reason: 'malformed' });
  }
  const decipher = createDecipheriv('aes-256-gcm', dataKey, sealed.subarray(1, HEADER_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const pt = decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    pt.fill(0);
    throw new IntegrityError(`sealed field "${field}" of customer "${customerId}" did not authenticate`, { customerId, field, reason: 'auth_failed' });
  }
  const text = pt.toString('utf8');
  pt.fill(0);
  return text;
}
