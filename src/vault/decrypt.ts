/**
 * Decryption: the only way to a clear field. Import this module from src/broker/ and nowhere
 * else (boundary.test.ts fails otherwise): the broker records each decision in the ledger before
 * it opens a field. The opener reaches the vault's keys itself; no key leaves the vault.
 */
export { FieldOpener, openerFor, type SealedFields } from './vault.ts';
