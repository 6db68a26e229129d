/**
 * Decryption: the only way to a clear field or a clear data key. Import this module from
 * src/broker/ and nowhere else (boundary.test.ts fails otherwise): the broker records each
 * decision in the ledger before it calls these.
 */
export { DataKeyCache, DEFAULT_DATA_KEY_CACHE_SIZE, unwrapDataKey } from './envelope.ts';
export { openField } from './field-cipher.ts';
