import type { AccessEvent } from '../model.ts';

/** Event bytes for store tests (the real encoding is the ledger's canonical JSON). */
export function canonicalEventBytes(e: AccessEvent): Uint8Array {
  return Buffer.from(JSON.stringify(e));
}
