/**
 * Everything the store keeps for one customer's PII, made in one step: a fresh data key,
 * wrapped; each field sealed and masked; blind indexes for e-mail and phone. The clear data
 * key is zeroed before returning, so the importer never holds one.
 */
import { InvalidInputError } from '../errors.ts';
import type { CustomerInput, CustomerProfile } from '../model.ts';
import { blindIndexEmail, blindIndexPhone } from './blind-index.ts';
import { newDataKey } from './envelope.ts';
import { sealField } from './field-cipher.ts';
import type { KeyRing } from './keyring.ts';
import { maskField } from './mask.ts';

export interface SealedPii {
  /** The customer's data key wrapped under the current KEK; deleting it shreds the record. */
  wrappedKey: Buffer;
  /** The KEK `wrappedKey` is under: the store refuses it unless it is the store's current KEK. */
  kekId: string;
  /** field → sealed bytes (field-cipher format). */
  sealed: Record<string, Buffer>;
  /** field → masked form. */
  masked: Record<string, string>;
  /** Names of the sealed fields, in input order. */
  fields: string[];
  emailIndex: string | null;
  phoneIndex: string | null;
}

/** `country` reads a national phone number; the importer has already normalised it to E.164. */
export function sealCustomerPii(keyring: KeyRing, customerId: string, pii: Record<string, string>, country?: string): SealedPii {
  const { dataKey, wrapped } = newDataKey(keyring, customerId);
  try {
    const sealed: Record<string, Buffer> = {};
    const masked: Record<string, string> = {};
    for (const [field, value] of Object.entries(pii)) {
      if (typeof value !== 'string') throw new InvalidInputError(`field "${field}" must be a string`, { field });
      sealed[field] = sealField(dataKey, customerId, field, value);
      masked[field] = maskField(field, value, country);
    }
    return {
      wrappedKey: wrapped,
      kekId: keyring.currentKekId,
      sealed,
      masked,
      fields: Object.keys(sealed),
      emailIndex: pii.email !== undefined ? blindIndexEmail(keyring, pii.email) : null,
      phoneIndex: pii.phone !== undefined ? blindIndexPhone(keyring, pii.phone, country) : null,
    };
  } finally {
    dataKey.fill(0);
  }
}

/** A customer ready for the store: clear profile plus its sealed PII (the store's SealedCustomer). */
export interface SealedCustomerRecord extends CustomerProfile, SealedPii {}

/** The importer's sealer: one parsed customer in, one sealed record out. */
export function customerSealer(keyring: KeyRing): (input: CustomerInput) => SealedCustomerRecord {
  return (input) => ({
    id: input.id,
    country: input.country,
    region: input.region ?? null,
    locale: input.locale ?? null,
    canary: input.canary,
    vip: input.vip,
    entity: input.entity ?? null,
    ...sealCustomerPii(keyring, input.id, input.pii, input.country),
  });
}
