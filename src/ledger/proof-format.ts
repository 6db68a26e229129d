/**
 * The JSON form of proofs, printed by `custos ledger prove` and read by `custos ledger verify-proof`:
 *
 *   {"type":"inclusion","index":41,"size":100,"leafHash":"<hex>","proof":["<hex>",…]}
 *   {"type":"consistency","from":50,"to":100,"proof":["<hex>",…]}
 *
 * Hashes are lowercase hex SHA-256; `proof` is in RFC 9162 order (inclusion: bottom-up). A proof
 * says nothing by itself: it is checked against a signed checkpoint (verify.ts).
 */
import { InvalidInputError } from '../errors.ts';
import { HASH_SIZE } from './merkle.ts';
import type { ConsistencyProof, InclusionProof } from './proofs.ts';

export interface InclusionProofJson {
  type: 'inclusion';
  index: number;
  size: number;
  leafHash: string;
  proof: string[];
}

export interface ConsistencyProofJson {
  type: 'consistency';
  from: number;
  to: number;
  proof: string[];
}

export function inclusionProofToJson(p: InclusionProof): InclusionProofJson {
  return { type: 'inclusion', index: p.index, size: p.size, leafHash: toHex(p.leafHash), proof: p.proof.map(toHex) };
}

export function consistencyProofToJson(p: ConsistencyProof): ConsistencyProofJson {
  return { type: 'consistency', from: p.from, to: p.to, proof: p.proof.map(toHex) };
}

/** Parses a proof file's text; InvalidInputError names the field at fault. */
export function parseProofJson(text: string): InclusionProof | ConsistencyProof {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`proof is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidInputError('proof must be a JSON object');
  const o = value as Record<string, unknown>;
  if (o.type === 'inclusion') {
    return {
      type: 'inclusion',
      index: wholeNumber(o, 'index'),
      size: wholeNumber(o, 'size'),
      leafHash: hashFromHex(o.leafHash, 'leafHash'),
      proof: hashList(o.proof),
    };
  }
  if (o.type === 'consistency') {
    return { type: 'consistency', from: wholeNumber(o, 'from'), to: wholeNumber(o, 'to'), proof: hashList(o.proof) };
  }
  throw new InvalidInputError('proof type must be "inclusion" or "consistency"', { field: 'type' });
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A 32-byte hash from lowercase or uppercase hex; InvalidInputError names `field`. */
export function hashFromHex(value: unknown, field: string): Buffer {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]*$/.test(value) || value.length !== 2 * HASH_SIZE) {
    throw new InvalidInputError(`${field} must be ${2 * HASH_SIZE} hex digits`, { field });
  }
  return Buffer.from(value, 'hex');
}

function wholeNumber(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InvalidInputError(`${field} must be a whole number`, { field });
  return v;
}

function hashList(value: unknown): Buffer[] {
  if (!Array.isArray(value)) throw new InvalidInputError('proof must be an array of hex hashes', { field: 'proof' });
  return value.map((h, i) => hashFromHex(h, `proof[${i}]`));
}
