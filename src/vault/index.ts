/**
 * The vault's public surface for everyone but the broker: the Vault (sealing, blind indexes,
 * rotation, status), the wrapped-key format's KEK id, and masking. Nothing here returns a clear
 * value, a data key or a key-encryption key; no key ring is handed out.
 *
 * Opening fields (openerFor) lives in ./decrypt.ts, which only src/broker/ may import
 * (boundary.test.ts checks it, and that nothing outside src/vault/ imports keyring.ts).
 */
export { KEY_FILE_NAME, KEYRING_ENV, keyRingPath } from './keyring.ts';
export { createVault, openVault, Vault, type KeyRingStatus, type VaultOptions } from './vault.ts';
export { DATA_KEY_BYTES, wrappedKekId } from './envelope.ts';
export { ephemeralBlindIndexer, type BlindIndexer, type SearchKind } from './blind-index.ts';
export { maskEmail, maskField, maskGeneric, maskName, maskPhone } from './mask.ts';
export { type SealedCustomerRecord, type SealedPii } from './seal-customer.ts';
