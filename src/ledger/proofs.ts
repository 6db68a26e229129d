/**
 * Proofs served from stored complete-subtree nodes (storage.ts): each proof hash is either a
 * stored node or a right-edge subtree folded from O(log n) stored nodes, all fetched in one
 * getNodes call. Nothing here reads entries or rehashes the log.
 */
import { InvalidInputError } from '../errors.ts';
import { foldRange, frontierNodeKeys, largestPowerOfTwoBelow, MerkleFrontier, rangeNodeKeys, requireTreeSize } from './merkle.ts';
import type { LedgerStorage, NodeKey } from './storage.ts';

export interface InclusionProof {
  type: 'inclusion';
  index: number;
  size: number;
  leafHash: Uint8Array;
  /** Bottom-up, as RFC 9162 §2.1.3.1 PATH(m, D[n]). */
  proof: Uint8Array[];
}

export interface ConsistencyProof {
  type: 'consistency';
  from: number;
  to: number;
  /** As RFC 9162 §2.1.4.1 PROOF(m, D[n]). */
  proof: Uint8Array[];
}

/** A leaf range [start, end) whose RFC 9162 subtree hash is one proof element. */
type LeafRange = readonly [start: number, end: number];

/** Inclusion proof for leaf `index` in the tree of `size` (index < size ≤ log size). */
export async function inclusionProof(storage: LedgerStorage, index: number, size: number): Promise<InclusionProof> {
  requireTreeSize('index', index);
  requireTreeSize('size', size);
  if (index >= size) throw new InvalidInputError(`leaf index ${index} is not below the tree size ${size}`, { field: 'index' });
  await requireWithinLog(storage, size);
  const [leaf, ...proof] = await subtreeHashes(storage, [[index, index + 1], ...inclusionRanges(index, size)]);
  return { type: 'inclusion', index, size, leafHash: leaf as Uint8Array, proof };
}

/** Consistency proof from the tree of `from` to the tree of `to` (0 < from ≤ to ≤ log size). */
export async function consistencyProof(storage: LedgerStorage, from: number, to: number): Promise<ConsistencyProof> {
  requireTreeSize('from', from);
  requireTreeSize('to', to);
  if (from === 0) throw new InvalidInputError('a consistency proof from the empty tree is meaningless', { field: 'from' });
  if (from > to) throw new InvalidInputError(`a tree of ${from} cannot be a prefix of a tree of ${to}`, { field: 'from' });
  await requireWithinLog(storage, to);
  return { type: 'consistency', from, to, proof: await subtreeHashes(storage, consistencyRanges(from, to)) };
}

/** MTH of the first `size` entries (size ≤ log size). */
export async function rootAt(storage: LedgerStorage, size: number): Promise<Uint8Array> {
  requireTreeSize('size', size);
  await requireWithinLog(storage, size);
  const [root] = await subtreeHashes(storage, [[0, size]]);
  return root as Uint8Array;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]), unrolled: the sibling subtree at each split, collected top-down. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  const ranges: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
    }
  }
  return ranges.reverse();
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), unrolled; `complete` is the flag b. */
export function consistencyRanges(from: number, to: number): LeafRange[] {
  const ranges: LeafRange[] = [];
  let lo = 0;
  let hi = to;
  let complete = true;
  // Invariant lo < from ≤ hi, so the loop reaches from === hi.
  while (from !== hi) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (from <= lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
      complete = false;
    }
  }
  // D[lo:hi] is the old tree's last subtree; the verifier knows it only when it is the whole old tree.
  if (!complete) ranges.push([lo, hi]);
  return ranges.reverse();
}

/** The subtree hash of each range, from one getNodes call. */
async function subtreeHashes(storage: LedgerStorage, ranges: readonly LeafRange[]): Promise<Uint8Array[]> {
  const keysPerRange = ranges.map(([start, end]) => rangeNodeKeys(start, end));
  const keys: NodeKey[] = keysPerRange.flat();
  const hashes = await storage.getNodes(keys);
  const result: Uint8Array[] = [];
  let offset = 0;
  for (const rangeKeys of keysPerRange) {
    result.push(foldRange(hashes.slice(offset, offset + rangeKeys.length)));
    offset += rangeKeys.length;
  }
  return result;
}

async function requireWithinLog(storage: LedgerStorage, size: number): Promise<void> {
  const logSize = await storage.size();
  if (size > logSize) throw new InvalidInputError(`tree size ${size} is beyond the log, which holds ${logSize} entries`, { field: 'size' });
}

/** The frontier of the first `size` entries (default: the whole log), from O(log n) stored nodes. */
export async function loadFrontier(storage: LedgerStorage, size?: number): Promise<MerkleFrontier> {
  const treeSize = size ?? (await storage.size());
  requireTreeSize('size', treeSize);
  if (size !== undefined) await requireWithinLog(storage, size);
  return MerkleFrontier.fromNodes(treeSize, await storage.getNodes(frontierNodeKeys(treeSize)));
}
