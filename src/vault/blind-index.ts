/**
 * Blind indexes: find a customer by e-mail or phone without storing either in clear.
 * HMAC-SHA-256 under the key ring's index key (which rotation never changes, or every stored
 * index would stop matching) over a domain-separated input, as lowercase hex (64 characters),
 * the form the store's index columns hold.
 *
 *   email: HMAC(indexKey, "email\0" || NFC(normalizeEmail(value)))
 *   phone: HMAC(indexKey, "phone\0" || E.164(value, country))
 *
 * An index reveals only equality, and only to someone who also holds the index key.
 *
 * Searches are recorded in the ledger by a probe hash of the same normalized query, under the
 * same key but another domain, so it never equals a stored index and cannot be joined to the
 * customers table, yet repeated probes of one value hash equal:
 *
 *   probe: HMAC(indexKey, "search-probe\0" || kind || "\0" || normalized)
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { InvalidInputError } from '../errors.ts';
import { normalizeEmail, normalizePhone } from '../model.ts';
import type { KeyRing } from './keyring.ts';

export type SearchKind = 'email' | 'phone';

/** What a keyed hash needs of a key ring: its index key, never the KEKs. */
type IndexKeyHolder = Pick<KeyRing, 'indexKey'>;

function keyedHash(keyring: IndexKeyHolder, domain: string, normalized: string): string {
  return createHmac('sha256', keyring.indexKey).update(`${domain}\0`, 'utf8').update(normalized, 'utf8').digest('hex');
}

function emailForIndex(email: string): string {
  // NFC too, so a composed and a decomposed "é" find the same customer.
  const normalized = typeof email === 'string' ? normalizeEmail(email).normalize('NFC') : '';
  if (normalized === '') throw new InvalidInputError('email is empty', { field: 'email' });
  return normalized;
}

function phoneForIndex(phone: string, country?: string): string {
  const e164 = typeof phone === 'string' ? normalizePhone(phone, country) : undefined;
  if (e164 === undefined) throw new InvalidInputError(`phone is not a phone number${country ? ` in ${country}` : ''} or in international form`, { field: 'phone' });
  return e164;
}

/** Index of an e-mail address; equal for addresses that differ only in case or surrounding blanks. */
export function blindIndexEmail(keyring: IndexKeyHolder, email: string): string {
  return keyedHash(keyring, 'email', emailForIndex(email));
}

/** Index of a phone number, read as national in `country` (ISO 3166-1 alpha-2) unless written +…. */
export function blindIndexPhone(keyring: IndexKeyHolder, phone: string, country?: string): string {
  return keyedHash(keyring, 'phone', phoneForIndex(phone, country));
}

/** The probe hash a search is recorded with: equal for equal normalized queries, never equal to a blind index. */
export function searchProbeHash(keyring: KeyRing, kind: SearchKind, value: string, country?: string): string {
  const normalized = kind === 'email' ? emailForIndex(value) : phoneForIndex(value, country);
  return keyedHash(keyring, `search-probe\0${kind}`, normalized);
}

/** E-mail and phone blind indexes under one key. */
export interface BlindIndexer {
  email(value: string): string;
  phone(value: string, country?: string): string;
}

/**
 * Blind indexes computed exactly as the vault's (same normalization, same domains) under a
 * random key that lives for one run: for matching clear values from files against each other
 * (attribution from a customers file) without holding either side in clear in memory.
 */
export function ephemeralBlindIndexer(): BlindIndexer {
  const holder = { indexKey: createSecretKey(randomBytes(32)) };
  return { email: (v) => blindIndexEmail(holder, v), phone: (v, c) => blindIndexPhone(holder, v, c) };
}
