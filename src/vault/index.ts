/**
 * The vault's public surface for everyone but the broker: key ring, sealing, blind indexes,
 * masking and rotation. Nothing here returns a clear value or a clear data key.
 *
 * Decryption (openField, unwrapDataKey, DataKeyCache) lives in ./decrypt.ts, which only
 * src/broker/ may import (boundary.test.ts checks it).
 */
export {
  KEY_FILE_NAME,
  KEYRING_ENV,
  KeyRing,
  createKeyRingFile,
  keyRingFromEnv,
  loadKeyRing,
  newKeyRingDocument,
  parseKeyRingDocument,
  readKeyRingFile,
  retireKek,
  rotateKek,
  withKekRetired,
  withNewKek,
  type Kek,
  type KekEntryDocument,
  type KeyRingDocument,
  type KeyRingSource,
} from './keyring.ts';
export { DATA_KEY_BYTES, newDataKey, rewrapDataKey, wrappedKekId } from './envelope.ts';
export { sealField } from './field-cipher.ts';
export { blindIndexEmail, blindIndexPhone, searchProbeHash, type SearchKind } from './blind-index.ts';
export { maskEmail, maskField, maskGeneric, maskName, maskPhone } from './mask.ts';
export { customerSealer, sealCustomerPii, type SealedCustomerRecord, type SealedPii } from './seal-customer.ts';
export { LiveKeyRing } from './live-keyring.ts';
