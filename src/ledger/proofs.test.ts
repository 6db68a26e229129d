import { verifyMerkleInclusion } from '@sigstore/verify/dist/tlog/merkle.js';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { LedgerAppender } from './appender.ts';
import { MemoryLedgerStorage } from './memory-storage.ts';
import { MerkleFrontier, leafHash, rootOf, verifyConsistency, verifyInclusion } from './merkle.ts';
import { consistencyProof, inclusionProof, loadFrontier, rootAt } from './proofs.ts';
import { LEAF_HASHES, LEAF_INPUTS, RFC_NODES, ROOTS, b64 } from './test-vectors.ts';

async function storageWith(entries: readonly Uint8Array[]): Promise<MemoryLedgerStorage> {
  const storage = new MemoryLedgerStorage();
  const appender = await LedgerAppender.open(storage, { maxBatch: 97 });
  // Concurrent appends, so the tree is built across many batch boundaries.
  await Promise.all(entries.map((e) => appender.append(e)));
  await appender.close();
  return storage;
}

const entryBytes = (n: number): Buffer => Buffer.from(`entry-${n}`);
const hexes = (hashes: readonly Uint8Array[]): string[] => hashes.map((h) => Buffer.from(h).toString('hex'));

describe('proofs from stored nodes reproduce the published vectors', async () => {
  const storage = await storageWith(LEAF_INPUTS);
  const [, b, c, d, , f, j] = LEAF_HASHES as Buffer[];
  const { g, h, i, k, l } = RFC_NODES;

  it('roots at every size 0..8', async () => {
    for (let n = 0; n <= 8; n++) expect(await rootAt(storage, n)).toEqual(ROOTS[n]);
  });

  it('RFC 9162 §2.1.5 inclusion proofs in the 7-leaf tree', async () => {
    const expected: [number, Buffer[]][] = [
      [0, [b as Buffer, h, l]],
      [3, [c as Buffer, g, l]],
      [4, [f as Buffer, j as Buffer, k]],
      [6, [i, k]],
    ];
    for (const [index, proof] of expected) {
      const generated = await inclusionProof(storage, index, 7);
      expect(hexes(generated.proof)).toEqual(hexes(proof));
      expect(generated.leafHash).toEqual(LEAF_HASHES[index]);
    }
  });

  it('RFC 9162 §2.1.5 PROOF(3, D[7]) = [c, d, g, l], and PROOF(4, D[8]) is one node', async () => {
    expect(hexes((await consistencyProof(storage, 3, 7)).proof)).toEqual(hexes([c as Buffer, d as Buffer, g, l]));
    expect(hexes((await consistencyProof(storage, 4, 8)).proof)).toEqual(hexes([RFC_NODES.n4567]));
    expect((await consistencyProof(storage, 5, 5)).proof).toEqual([]);
  });

  it('the transparency-dev happy-path proofs', async () => {
    const inclusion: [number, number, string[]][] = [
      [0, 1, []],
      [0, 8, ['lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=', 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=']],
      [5, 8, ['vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=', 'yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=', '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=']],
      [2, 3, ['+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=']],
      [1, 5, ['bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=', 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=']],
    ];
    for (const [index, size, proof] of inclusion) expect(hexes((await inclusionProof(storage, index, size)).proof)).toEqual(hexes(proof.map(b64)));
    const consistency: [number, number, string[]][] = [
      [1, 1, []],
      [1, 8, ['lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=', 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=']],
      [6, 8, ['DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=', 'yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=', '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=']],
      [2, 5, ['Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=']],
      [6, 7, ['DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=', 'sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=', '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=']],
    ];
    for (const [from, to, proof] of consistency) expect(hexes((await consistencyProof(storage, from, to)).proof)).toEqual(hexes(proof.map(b64)));
  });
});

describe('proof generation', () => {
  it('reads stored nodes in exactly one getNodes call per proof, and never reads entries', async () => {
    const storage = await storageWith(Array.from({ length: 1000 }, (_, n) => entryBytes(n)));
    const getNodes = vi.spyOn(storage, 'getNodes');
    const readEntries = vi.spyOn(storage, 'readEntries');
    await inclusionProof(storage, 517, 999);
    expect(getNodes).toHaveBeenCalledTimes(1);
    await consistencyProof(storage, 333, 999);
    expect(getNodes).toHaveBeenCalledTimes(2);
    await rootAt(storage, 999);
    expect(getNodes).toHaveBeenCalledTimes(3);
    expect(readEntries).not.toHaveBeenCalled();
  });

  it('refuses impossible requests with InvalidInputError', async () => {
    const storage = await storageWith(LEAF_INPUTS);
    await expect(inclusionProof(storage, 8, 8)).rejects.toThrow(InvalidInputError);
    await expect(inclusionProof(storage, 0, 9)).rejects.toThrow(/beyond the log/);
    await expect(inclusionProof(storage, -1, 4)).rejects.toThrow(InvalidInputError);
    await expect(consistencyProof(storage, 0, 4)).rejects.toThrow(/empty tree/);
    await expect(consistencyProof(storage, 5, 4)).rejects.toThrow(InvalidInputError);
    await expect(consistencyProof(storage, 4, 9)).rejects.toThrow(/beyond the log/);
    await expect(rootAt(storage, 9)).rejects.toThrow(/beyond the log/);
  });

  it('reports a missing stored node as an IntegrityError', async () => {
    const storage = await storageWith(LEAF_INPUTS);
    const broken = Object.assign(Object.create(storage) as MemoryLedgerStorage, {
      getNodes: async () => {
        throw new IntegrityError('ledger node level 1 index 0 is missing from the store');
      },
    });
    await expect(inclusionProof(broken, 0, 8)).rejects.toThrow(IntegrityError);
  });

  it('loads the frontier of any prefix of the log', async () => {
    const storage = await storageWith(LEAF_INPUTS);
    for (let n = 0; n <= 8; n++) expect((await loadFrontier(storage, n)).root()).toEqual(ROOTS[n]);
    expect((await loadFrontier(storage)).size).toBe(8);
  });
});

describe('property: proofs from an appender-built log of 1..2000 entries', () => {
  it('every proof verifies, a mutated proof fails, and stored roots match rootOf', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 2000 }), fc.nat(), async (n, sizeSeed, bitSeed) => {
        const entries = Array.from({ length: n }, (_, i) => entryBytes(i));
        const leaves = entries.map(leafHash);
        const storage = await storageWith(entries);
        const prefixRoots = [rootOf([])];
        const frontier = MerkleFrontier.empty();
        for (const leaf of leaves) {
          frontier.append(leaf);
          prefixRoots.push(frontier.root());
        }
        expect(await rootAt(storage, n)).toEqual(rootOf(leaves));
        const size = 1 + (sizeSeed % n);
        expect(await rootAt(storage, size)).toEqual(prefixRoots[size]);

        for (const treeSize of new Set([n, size])) {
          const root = prefixRoots[treeSize] as Uint8Array;
          for (let index = 0; index < treeSize; index++) {
            const p = await inclusionProof(storage, index, treeSize);
            verifyInclusion(index, treeSize, leaves[index] as Uint8Array, p.proof, root);
            if (p.proof.length > 0) {
              const mutated = flipOneBit(p.proof, index + bitSeed);
              expect(() => verifyInclusion(index, treeSize, leaves[index] as Uint8Array, mutated, root)).toThrow(IntegrityError);
            }
          }
        }
        for (let from = 1; from <= n; from++) {
          const p = await consistencyProof(storage, from, n);
          verifyConsistency(from, n, prefixRoots[from] as Uint8Array, prefixRoots[n] as Uint8Array, p.proof);
          if (p.proof.length > 0) {
            const mutated = flipOneBit(p.proof, from + bitSeed);
            expect(() => verifyConsistency(from, n, prefixRoots[from] as Uint8Array, prefixRoots[n] as Uint8Array, mutated)).toThrow(IntegrityError);
          }
        }
        const from = 1 + (bitSeed % size);
        const p = await consistencyProof(storage, from, size);
        verifyConsistency(from, size, prefixRoots[from] as Uint8Array, prefixRoots[size] as Uint8Array, p.proof);
      }),
      { numRuns: 30 },
    );
  });
});

function flipOneBit(proof: readonly Uint8Array[], seed: number): Uint8Array[] {
  const at = seed % proof.length;
  const bit = seed % 256;
  return proof.map((p, n) => (n === at ? Uint8Array.from(p, (byte, pos) => (pos === bit >> 3 ? byte ^ (1 << (bit & 7)) : byte)) : p));
}

describe('cross-check against @sigstore/verify 3.1.1 verifyMerkleInclusion', () => {
  it('agrees on every inclusion proof for trees of 1..70 entries, and both reject a wrong root', async () => {
    const entries = Array.from({ length: 70 }, (_, n) => entryBytes(n));
    const storage = await storageWith(entries);
    let checked = 0;
    for (let size = 1; size <= 70; size++) {
      const root = await rootAt(storage, size);
      for (let index = 0; index < size; index++) {
        const p = await inclusionProof(storage, index, size);
        const entry = { canonicalizedBody: entries[index], inclusionProof: { logIndex: String(index), hashes: p.proof.map((h) => Buffer.from(h)) } };
        expect(() => verifyMerkleInclusion(entry as never, { logSize: BigInt(size), logHash: Buffer.from(root) } as never)).not.toThrow();
        checked++;
      }
      const wrong = { canonicalizedBody: entries[0], inclusionProof: { logIndex: '0', hashes: (await inclusionProof(storage, 0, size)).proof.map((h) => Buffer.from(h)) } };
      expect(() => verifyMerkleInclusion(wrong as never, { logSize: BigInt(size), logHash: Buffer.alloc(32) } as never)).toThrow();
    }
    expect(checked).toBe((70 * 71) / 2);
  });
});
