/**
 * RFC 9162 §2.1 Merkle tree hashing and proof verification, plus the frontier (compact range)
 * that computes roots in O(log n) memory as leaves stream in.
 *
 * Tree sizes and indexes are JavaScript numbers up to 2^53 - 1; bit operators would truncate
 * them to 32 bits, so halving and parity use arithmetic.
 */
import { hash } from 'node:crypto';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import type { NodeKey, StoredNode } from './storage.ts';

export const HASH_SIZE = 32;

/** MTH({}) = SHA-256() — RFC 9162 §2.1.1. */
export const EMPTY_TREE_ROOT: Uint8Array = hash('sha256', new Uint8Array(0), 'buffer');

// One-shot hashing over a reused buffer: createHash().update()… costs twice as much per small input.
let leafScratch = Buffer.alloc(4096);
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);

/** MTH({d}) = SHA-256(0x00 || d) — RFC 9162 §2.1.1. */
export function leafHash(entry: Uint8Array): Buffer {
  if (entry.length + 1 > leafScratch.length) leafScratch = Buffer.alloc(Math.max(entry.length + 1, 2 * leafScratch.length));
  leafScratch[0] = 0x00;
  leafScratch.set(entry, 1);
  return hash('sha256', leafScratch.subarray(0, entry.length + 1), 'buffer');
}

/** SHA-256(0x01 || left || right) — RFC 9162 §2.1.1. Inputs of other lengths are hashed as given. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return hash('sha256', Buffer.concat([Buffer.of(0x01), left, right]), 'buffer');
  }
  nodeScratch[0] = 0x01;
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeScratch, 'buffer');
}

/** The Merkle tree hash of the given leaf hashes, by the recursive definition of RFC 9162 §2.1.1. */
export function rootOf(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return EMPTY_TREE_ROOT;
  return subtreeRoot(leafHashes, 0, leafHashes.length);
}

function subtreeRoot(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (end - start === 1) return leafHashes[start] as Uint8Array;
  // RFC 9162 §2.1.1: k is the largest power of two smaller than n.
  const k = largestPowerOfTwoBelow(end - start);
  return nodeHash(subtreeRoot(leafHashes, start, start + k), subtreeRoot(leafHashes, start + k, end));
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function isOdd(n: number): boolean {
  return n % 2 === 1;
}

export function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** The largest power of two strictly below n (n > 1). */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The stored nodes whose hashes combine into the RFC 9162 subtree hash MTH(D[start:end]), left to
 * right. Valid for the ranges the RFC recursion produces: `start` is a multiple of the smallest
 * power of two ≥ end - start, so the range splits greedily into aligned complete subtrees.
 */
export function rangeNodeKeys(start: number, end: number): NodeKey[] {
  const keys: NodeKey[] = [];
  while (start < end) {
    let width = 1;
    let level = 0;
    while (start % (width * 2) === 0 && start + width * 2 <= end) {
      width *= 2;
      level++;
    }
    keys.push({ level, index: start / width });
    start += width;
  }
  return keys;
}

/** Folds the hashes of rangeNodeKeys(…) into the subtree hash: right-edge subtrees nest to the right. */
export function foldRange(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_TREE_ROOT;
  let acc = hashes[hashes.length - 1] as Uint8Array;
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i] as Uint8Array, acc);
  return acc;
}

/** The complete subtrees covering leaves [0, size): what a frontier holds, left to right. */
export function frontierNodeKeys(size: number): NodeKey[] {
  return rangeNodeKeys(0, size);
}

/**
 * A compact range over leaves [0, size): one hash per set bit of size. Appending a leaf merges
 * equal-sized subtrees, and each merge is a newly complete node the store must keep for proofs.
 */
export class MerkleFrontier {
  private constructor(
    private count: number,
    private readonly hashes: Uint8Array[],
  ) {}

  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, []);
  }

  /** Rebuilds the frontier of a tree of `size` from the hashes of frontierNodeKeys(size), in order. */
  static fromNodes(size: number, hashes: readonly Uint8Array[]): MerkleFrontier {
    const expected = frontierNodeKeys(size).length;
    if (hashes.length !== expected) throw new Error(`a frontier of size ${size} has ${expected} nodes, got ${hashes.length}`);
    return new MerkleFrontier(size, [...hashes]);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the next leaf; when `completed` is given, pushes every node this leaf completes (level 0 first). */
  append(leafHash: Uint8Array, completed?: StoredNode[]): void {
    let index = this.count;
    let level = 0;
    let node = leafHash;
    completed?.push({ level, index, hash: node });
    // A right child completes its parent; the left sibling is the frontier's last hash.
    while (isOdd(index)) {
      const left = this.hashes.pop();
      if (!left) throw new Error('merkle frontier lost its left sibling');
      node = nodeHash(left, node);
      index = (index - 1) / 2;
      level++;
      completed?.push({ level, index, hash: node });
    }
    this.hashes.push(node);
    this.count++;
  }

  /** MTH of the leaves so far. */
  root(): Uint8Array {
    return foldRange(this.hashes);
  }

  clone(): MerkleFrontier {
    return new MerkleFrontier(this.count, [...this.hashes]);
  }
}

/**
 * RFC 9162 §2.1.3.2: verifies that `leafHash` is leaf `index` of the tree of `size` with `root`.
 * Throws InvalidInputError for malformed input, IntegrityError when the proof does not verify.
 */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  requireTreeSize('index', index);
  requireTreeSize('size', size);
  if (index >= size) throw new InvalidInputError(`leaf index ${index} is not below the tree size ${size}`);
  // Not in the RFC text, but without it an empty leaf and root pass when size is 1 (transparency-dev does the same).
  requireHash('leaf hash', leafHash);
  requireHash('root', root);
  proof.forEach((h, i) => requireHash(`proof[${i}]`, h));

  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new IntegrityError(`inclusion proof has ${proof.length} hashes, more than the path from leaf ${index} in a tree of ${size}`);
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new IntegrityError(`inclusion proof has ${proof.length} hashes, fewer than the path from leaf ${index} in a tree of ${size}`);
  if (!equalHashes(r, root)) throw new IntegrityError(`inclusion proof for leaf ${index} does not lead to the root of the tree of ${size}`);
}

/**
 * RFC 9162 §2.1.4.2: verifies that the tree of `size2` with `root2` extends the tree of `size1` with `root1`.
 * Throws InvalidInputError for malformed input, IntegrityError when the proof does not verify.
 */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  requireTreeSize('size1', size1);
  requireTreeSize('size2', size2);
  if (size1 > size2) throw new InvalidInputError(`a tree of ${size1} cannot be a prefix of a tree of ${size2}`);
  // Every tree extends the empty tree, so such a "proof" proves nothing; refuse it (transparency-dev does too).
  if (size1 === 0) throw new InvalidInputError('a consistency proof from the empty tree is meaningless');
  if (size1 === size2) {
    // RFC 9162 §2.1.4.2 assumes first < second; equal sizes are consistent iff the roots are equal.
    if (proof.length !== 0) throw new IntegrityError(`consistency proof between equal sizes must be empty, got ${proof.length} hashes`);
    if (!equalHashes(root1, root2)) throw new IntegrityError(`two different roots for the same tree size ${size1}`);
    return;
  }
  requireHash('root1', root1);
  requireHash('root2', root2);
  proof.forEach((h, i) => requireHash(`proof[${i}]`, h));
  if (proof.length === 0) throw new IntegrityError(`consistency proof from ${size1} to ${size2} is empty`);

  // Step 2: a power-of-two first tree is a complete subtree the verifier already knows.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) throw new IntegrityError(`consistency proof from ${size1} to ${size2} has too many hashes`);
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new IntegrityError(`consistency proof from ${size1} to ${size2} has too few hashes`);
  if (!equalHashes(fr, root1)) throw new IntegrityError(`consistency proof does not lead to the root of the tree of ${size1}`);
  if (!equalHashes(sr, root2)) throw new IntegrityError(`consistency proof does not lead to the root of the tree of ${size2}`);
}

export function requireTreeSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(`${name} must be a whole number from 0 to 2^53 - 1, got ${n}`, { field: name });
}

function requireHash(name: string, h: Uint8Array): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new InvalidInputError(`${name} must be a ${HASH_SIZE}-byte SHA-256 hash`, { field: name });
  }
}
