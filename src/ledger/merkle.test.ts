import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import {
  EMPTY_TREE_ROOT,
  MerkleFrontier,
  frontierNodeKeys,
  leafHash,
  nodeHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';
import type { StoredNode } from './storage.ts';
import { LEAF_HASHES, LEAF_INPUTS, RFC_NODES, ROOTS, ROOTS_BASE64, b64, hex } from './test-vectors.ts';

const [a, b, c, d, e, f, j] = LEAF_HASHES as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
const { g, h, i, k, l } = RFC_NODES;
const root = (n: number): Buffer => ROOTS[n] as Buffer;
const passes = (check: () => void): boolean => {
  try {
    check();
    return true;
  } catch (err) {
    if (err instanceof IntegrityError || err instanceof InvalidInputError) return false;
    throw err;
  }
};

describe('hash primitives (transparency-dev rfc6962_test.go)', () => {
  it('hashes the empty tree, leaves and nodes with domain separation', () => {
    expect(Buffer.from(EMPTY_TREE_ROOT).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(leafHash(Buffer.from('L123456')).toString('hex')).toBe('395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56');
    expect(nodeHash(Buffer.from('N123'), Buffer.from('N456')).toString('hex')).toBe('aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb');
  });

  it('hashes the standard leaves d0..d7', () => {
    LEAF_INPUTS.forEach((input, n) => expect(leafHash(input)).toEqual(LEAF_HASHES[n]));
  });

  it('hashes entries larger than the scratch buffer and leaves the result independent of later calls', () => {
    const big = Buffer.alloc(100_000, 7);
    const first = leafHash(big);
    leafHash(Buffer.from('other'));
    expect(first).toEqual(createHash('sha256').update(Buffer.of(0)).update(big).digest());
  });
});

describe('tree roots for sizes 0..8 (transparency-dev constants.go)', () => {
  it('rootOf and the frontier agree with the published roots', () => {
    const frontier = MerkleFrontier.empty();
    for (let n = 0; n <= 8; n++) {
      expect(Buffer.from(rootOf(LEAF_HASHES.slice(0, n))).toString('hex')).toBe(root(n).toString('hex'));
      expect(Buffer.from(frontier.root()).toString('base64')).toBe(ROOTS_BASE64[n]);
      if (n < 8) frontier.append(LEAF_HASHES[n] as Buffer);
    }
  });

  it('does not pad a non-power-of-two tree: root(7) = N(N(N(a,b),N(c,d)), N(N(e,f), j))', () => {
    expect(rootOf(LEAF_HASHES.slice(0, 7))).toEqual(nodeHash(nodeHash(nodeHash(a, b), nodeHash(c, d)), nodeHash(nodeHash(e, f), j)));
    expect(nodeHash(k, l)).toEqual(root(7));
    expect(nodeHash(g, c)).toEqual(root(3));
  });

  it('the frontier reports exactly the complete nodes each leaf finishes, and rebuilds from them', () => {
    const leaves = Array.from({ length: 300 }, (_, n) => leafHash(Buffer.from(`entry ${n}`)));
    const frontier = MerkleFrontier.empty();
    const stored = new Map<string, Uint8Array>();
    for (const [n, leaf] of leaves.entries()) {
      const completed: StoredNode[] = [];
      frontier.append(leaf, completed);
      for (const node of completed) {
        const width = 2 ** node.level;
        // A node (level, index) covers [index·2^level, (index+1)·2^level) and is complete now, not before.
        expect((node.index + 1) * width).toBe(n + 1);
        expect(node.hash).toEqual(rootOf(leaves.slice(node.index * width, (node.index + 1) * width)));
        stored.set(`${node.level}/${node.index}`, node.hash);
      }
      expect(frontier.root()).toEqual(rootOf(leaves.slice(0, n + 1)));
      const rebuilt = MerkleFrontier.fromNodes(n + 1, frontierNodeKeys(n + 1).map((key) => stored.get(`${key.level}/${key.index}`) as Uint8Array));
      expect(rebuilt.root()).toEqual(frontier.root());
    }
  });
});

describe('RFC 9162 §2.1.5 example tree (7 leaves)', () => {
  it.each([
    [0, [b, h, l]],
    [3, [c, g, l]],
    [4, [f, j, k]],
    [6, [i, k]],
  ] as const)('verifies the inclusion proof of d%i', (index, proof) => {
    expect(() => verifyInclusion(index, 7, LEAF_HASHES[index] as Buffer, proof, root(7))).not.toThrow();
  });

  it('verifies PROOF(3, D[7]) = [c, d, g, l] and PROOF(4, D[8]) = [root of leaves 4-7]', () => {
    expect(() => verifyConsistency(3, 7, root(3), root(7), [c, d, g, l])).not.toThrow();
    expect(() => verifyConsistency(4, 8, root(4), root(8), [RFC_NODES.n4567])).not.toThrow();
  });
});

/*
 * transparency-dev/merkle testdata/{inclusion,consistency} probes, regenerated here exactly as
 * cmd/proofgen/main.go builds them: the happy paths, every mutation it applies, and its
 * "additional" and "single-entry" sets.
 */
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');
const EMPTY_ROOT = root(0);

interface InclusionProbe {
  desc: string;
  index: number;
  size: number;
  root: Uint8Array;
  leafHash: Uint8Array;
  proof: Uint8Array[];
  wantErr: boolean;
}

interface ConsistencyProbe {
  desc: string;
  size1: number;
  size2: number;
  root1: Uint8Array;
  root2: Uint8Array;
  proof: Uint8Array[];
  wantErr: boolean;
}

const INCLUSION_HAPPY = [
  // testdata/inclusion/{0..4}/happy-path.json, base64 as stored.
  { index: 0, size: 1, proof: [] as string[] },
  { index: 0, size: 8, proof: ['lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=', 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ='] },
  { index: 5, size: 8, proof: ['vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=', 'yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=', '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc='] },
  { index: 2, size: 3, proof: ['+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU='] },
  { index: 1, size: 5, proof: ['bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=', 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms='] },
];

const CONSISTENCY_HAPPY = [
  // testdata/consistency/{0..4}/happy-path.json.
  { size1: 1, size2: 1, proof: [] as string[] },
  { size1: 1, size2: 8, proof: ['lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=', 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ='] },
  { size1: 6, size2: 8, proof: ['DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=', 'yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=', '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc='] },
  { size1: 2, size2: 5, proof: ['Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=', 'vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms='] },
  { size1: 6, size2: 7, proof: ['DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=', 'sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=', '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc='] },
];

function flipBit(proof: Uint8Array[], at: number, mask: number): Uint8Array[] {
  return proof.map((p, n) => (n === at ? Uint8Array.from(p, (byte, pos) => (pos === 0 ? byte ^ mask : byte)) : p));
}

function inclusionProbes(): InclusionProbe[] {
  const probes: InclusionProbe[] = [];
  for (const happy of INCLUSION_HAPPY) {
    const proof = happy.proof.map(b64);
    const { index, size } = happy;
    const r = root(size);
    const leaf = LEAF_HASHES[index] as Buffer;
    const probe = (desc: string, p: Partial<InclusionProbe>): InclusionProbe => ({ desc: `${index}/${size} ${desc}`, index, size, root: r, leafHash: leaf, proof, wantErr: true, ...p });
    probes.push(
      probe('happy path', { wantErr: false }),
      probe('leafIdx sub 1', { index: index - 1 }),
      probe('leafIdx plus 1', { index: index + 1 }),
      probe('leafIdx XOR 2', { index: index ^ 2 }),
      probe('treeSize mul 2', { size: size * 2 }),
      probe('treeSize div 2', { size: Math.floor(size / 2) }),
      probe('wrong leaf', { leafHash: Buffer.from('WrongLeaf') }),
      probe('empty root', { root: EMPTY_ROOT }),
      probe('random root', { root: SOME_HASH }),
      probe('trailing garbage', { proof: [...proof, Buffer.alloc(0)] }),
      probe('trailing root', { proof: [...proof, r] }),
      probe('preceding garbage', { proof: [Buffer.alloc(0), ...proof] }),
      probe('preceding root', { proof: [r, ...proof] }),
      ...proof.map((_, at) => probe(`modified proof[${at}] bit 3`, { proof: flipBit(proof, at, 8) })),
    );
    if (proof.length > 0) probes.push(probe('removed component', { proof: proof.slice(0, -1) }));
    if (proof.length > 1) probes.push(probe('inserted component', { proof: [proof[0] as Buffer, SOME_HASH, ...proof.slice(1)] }));
  }
  // single-entry/: the root of a one-entry tree is its leaf hash.
  const dataHash = leafHash(Buffer.from('data'));
  for (const [rootHash, leaf, desc, wantErr] of [
    [dataHash, dataHash, 'matching root and leaf', false],
    [dataHash, Buffer.alloc(0), 'empty leaf', true],
    [Buffer.alloc(0), dataHash, 'empty root', true],
    [Buffer.alloc(0), Buffer.alloc(0), 'empty root and leaf', true],
  ] as const) {
    probes.push({ desc: `single-entry ${desc}`, index: 0, size: 1, root: rootHash, leafHash: leaf, proof: [], wantErr });
  }
  // additional/: impossible indexes and sizes.
  for (const [index, size] of [[0, 0], [0, 1], [1, 0], [2, 1]] as const) {
    probes.push(
      { desc: `additional ${index}/${size} random leaf`, index, size, root: Buffer.alloc(0), leafHash: SOME_HASH, proof: [], wantErr: true },
      { desc: `additional ${index}/${size} empty root`, index, size, root: EMPTY_ROOT, leafHash: Buffer.alloc(0), proof: [], wantErr: true },
      { desc: `additional ${index}/${size} empty root and random leaf`, index, size, root: EMPTY_ROOT, leafHash: SOME_HASH, proof: [], wantErr: true },
    );
  }
  return probes;
}

function consistencyProbes(): ConsistencyProbe[] {
  const probes: ConsistencyProbe[] = [];
  for (const happy of CONSISTENCY_HAPPY) {
    const proof = happy.proof.map(b64);
    const { size1, size2 } = happy;
    const root1 = root(size1);
    const root2 = root(size2);
    const probe = (desc: string, p: Partial<ConsistencyProbe>): ConsistencyProbe => ({ desc: `${size1}→${size2} ${desc}`, size1, size2, root1, root2, proof, wantErr: true, ...p });
    probes.push(probe('happy path', { wantErr: false }));
    // proofgen mutates only non-trivial proofs.
    if (proof.length === 0) continue;
    probes.push(
      probe('size1 sub 1', { size1: size1 - 1 }),
      probe('size1 plus 1', { size1: size1 + 1 }),
      probe('size1 XOR 2', { size1: size1 ^ 2 }),
      probe('size2 mul 2', { size2: size2 * 2 }),
      probe('size2 div 2', { size2: Math.floor(size2 / 2) }),
      probe('wrong root1', { root1: Buffer.from('WrongRoot') }),
      probe('wrong root2', { root2: Buffer.from('WrongRoot') }),
      probe('swapped roots', { root1: root2, root2: root1 }),
      probe('empty proof', { proof: [] }),
      probe('trailing garbage', { proof: [...proof, Buffer.alloc(0)] }),
      probe('trailing root1', { proof: [...proof, root1] }),
      probe('trailing root2', { proof: [...proof, root2] }),
      probe('preceding garbage', { proof: [Buffer.alloc(0), ...proof] }),
      probe('preceding root1', { proof: [root1, ...proof] }),
      probe('preceding root2', { proof: [root2, ...proof] }),
      probe('preceding proof[0]', { proof: [proof[0] as Buffer, ...proof] }),
      probe('truncated proof', { proof: proof.slice(0, -1) }),
      ...proof.map((_, at) => probe(`modified proof[${at}] bit 4`, { proof: flipBit(proof, at, 16) })),
    );
  }
  const careless1 = Buffer.from("don't care 1");
  const careless2 = Buffer.from("don't care 2");
  const additional: [number, number, Uint8Array, Uint8Array, Uint8Array[], string, boolean][] = [
    [0, 0, careless1, careless2, [], 'sizes are equal (zero) but roots are not', true],
    [1, 1, careless1, careless2, [], 'sizes are equal (one) but roots are not', true],
    [0, 0, careless1, careless1, [], 'sizes are equal (zero) and proof is empty', true],
    [0, 1, careless1, careless2, [], 'size1 is zero and does not equal size2', true],
    // Not length-checked on this path, as in Go: equal sizes and equal roots are consistent.
    [1, 1, careless2, careless2, [], 'sizes are equal (one) and proof is empty', false],
    [1, 0, careless1, careless2, [], 'size1 is greater than size2', true],
    [2, 1, careless1, careless2, [], 'size1 is greater than size2 again', true],
    [1, 2, careless1, careless2, [], 'sizes do not match and proof is empty', true],
    [0, 0, EMPTY_ROOT, careless2, [], 'roots do not match and sizes are zero', true],
    [1, 1, EMPTY_ROOT, careless2, [], 'roots do not match and sizes are one', true],
    [0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], 'sizes match but proof is not empty and sizes are zero', true],
    [1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], 'sizes match but proof is not empty and sizes are one', true],
    [0, 1, EMPTY_ROOT, careless2, [], 'size1 is zero and size2 is not zero', true],
    [0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], 'consistency check on empty tree (size1 is zero) is useless', true],
  ];
  for (const [size1, size2, root1, root2, proof, desc, wantErr] of additional) {
    probes.push({ desc: `additional ${desc}`, size1, size2, root1, root2, proof, wantErr });
  }
  return probes;
}

describe('transparency-dev proof probes', () => {
  const inclusion = inclusionProbes();
  const consistency = consistencyProbes();

  it('generates as many probes as proofgen writes', () => {
    // Happy path + 12 fixed mutations + one per proof hash + removed/inserted component; then single-entry and additional.
    expect(inclusion.length).toBe(13 + 18 + 18 + 15 + 18 + 4 + 12);
    // Happy path, and for non-empty proofs 17 fixed mutations + one per proof hash; then additional.
    expect(consistency.length).toBe(1 + 21 + 21 + 20 + 21 + 14);
  });

  it.each(inclusion.map((p) => [p.desc, p] as const))('inclusion %s', (_, p) => {
    expect(passes(() => verifyInclusion(p.index, p.size, p.leafHash, p.proof, p.root))).toBe(!p.wantErr);
  });

  it.each(consistency.map((p) => [p.desc, p] as const))('consistency %s', (_, p) => {
    expect(passes(() => verifyConsistency(p.size1, p.size2, p.root1, p.root2, p.proof))).toBe(!p.wantErr);
  });
});

/** Every inclusion and consistency proof in trees of up to 8 leaves, by the RFC recursion over known leaves. */
function referencePath(index: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return [];
  let split = 1;
  while (split * 2 < leaves.length) split *= 2;
  return index < split
    ? [...referencePath(index, leaves.slice(0, split)), rootOf(leaves.slice(split))]
    : [...referencePath(index - split, leaves.slice(split)), rootOf(leaves.slice(0, split))];
}

function referenceSubproof(m: number, leaves: Uint8Array[], complete: boolean): Uint8Array[] {
  if (m === leaves.length) return complete ? [] : [rootOf(leaves)];
  let split = 1;
  while (split * 2 < leaves.length) split *= 2;
  return m <= split
    ? [...referenceSubproof(m, leaves.slice(0, split), complete), rootOf(leaves.slice(split))]
    : [...referenceSubproof(m - split, leaves.slice(split), false), rootOf(leaves.slice(0, split))];
}

describe('negative mutations over every proof in the 8-leaf tree', () => {
  const cases: { name: string; verify: (proof: Uint8Array[]) => void; proof: Uint8Array[] }[] = [];
  for (let size = 1; size <= 8; size++) {
    const leaves = LEAF_HASHES.slice(0, size);
    for (let index = 0; index < size; index++) {
      cases.push({
        name: `inclusion ${index}/${size}`,
        proof: referencePath(index, leaves),
        verify: (proof) => verifyInclusion(index, size, LEAF_HASHES[index] as Buffer, proof, root(size)),
      });
    }
    for (let m = 1; m < size; m++) {
      cases.push({
        name: `consistency ${m}→${size}`,
        proof: referenceSubproof(m, leaves, true),
        verify: (proof) => verifyConsistency(m, size, root(m), root(size), proof),
      });
    }
  }

  it('the unmutated proofs verify', () => {
    for (const cs of cases) expect(passes(() => cs.verify(cs.proof)), cs.name).toBe(true);
  });

  it('fails with any single bit of any proof hash flipped', () => {
    for (const cs of cases) {
      cs.proof.forEach((hash, at) => {
        for (let bit = 0; bit < hash.length * 8; bit++) {
          const mutated = cs.proof.map((p, n) => (n === at ? Uint8Array.from(p) : p));
          (mutated[at] as Uint8Array)[bit >> 3]! ^= 1 << (bit & 7);
          expect(passes(() => cs.verify(mutated)), `${cs.name} proof[${at}] bit ${bit}`).toBe(false);
        }
      });
    }
  });

  it('fails when truncated, extended, reordered, or given a 31- or 33-byte hash', () => {
    for (const cs of cases) {
      const { proof } = cs;
      if (proof.length > 0) expect(passes(() => cs.verify(proof.slice(0, -1))), `${cs.name} truncated`).toBe(false);
      expect(passes(() => cs.verify([...proof, SOME_HASH])), `${cs.name} extra element`).toBe(false);
      expect(passes(() => cs.verify([SOME_HASH, ...proof])), `${cs.name} extra first element`).toBe(false);
      if (proof.length > 1 && !Buffer.from(proof[0] as Uint8Array).equals(proof[1] as Uint8Array)) {
        expect(passes(() => cs.verify([proof[1] as Uint8Array, proof[0] as Uint8Array, ...proof.slice(2)])), `${cs.name} swapped`).toBe(false);
      }
      proof.forEach((p, at) => {
        for (const bad of [p.subarray(0, 31), Buffer.concat([p, Buffer.of(0)])]) {
          expect(() => cs.verify(proof.map((q, n) => (n === at ? bad : q))), `${cs.name} proof[${at}] length ${bad.length}`).toThrow(InvalidInputError);
        }
      });
    }
  });

  it('fails for a wrong leaf, a wrong root, swapped roots and a wrong size', () => {
    for (let size = 2; size <= 8; size++) {
      for (let index = 0; index < size; index++) {
        const proof = referencePath(index, LEAF_HASHES.slice(0, size));
        const other = LEAF_HASHES[(index + 1) % size] as Buffer;
        expect(passes(() => verifyInclusion(index, size, other, proof, root(size)))).toBe(false);
        expect(passes(() => verifyInclusion(index, size, LEAF_HASHES[index] as Buffer, proof, root(size - 1)))).toBe(false);
        // (A neighbouring size may share the path's shape, so only a doubled size must fail: the root binds the size.)
        expect(passes(() => verifyInclusion(index, size * 2, LEAF_HASHES[index] as Buffer, proof, root(size)))).toBe(false);
      }
      for (let m = 1; m < size; m++) {
        const proof = referenceSubproof(m, LEAF_HASHES.slice(0, size), true);
        expect(passes(() => verifyConsistency(m, size, root(size), root(m), proof)), `swapped roots ${m}→${size}`).toBe(false);
        for (const otherM of [m - 1, m + 1, m ^ 1, m ^ 2]) {
          if (otherM === m || otherM > size) continue;
          expect(passes(() => verifyConsistency(otherM, size, root(m), root(size), proof)), `size1 ${otherM} for ${m}→${size}`).toBe(false);
        }
        expect(passes(() => verifyConsistency(m, size, root(m), SOME_HASH, proof))).toBe(false);
        expect(passes(() => verifyConsistency(m, size, SOME_HASH, root(size), proof))).toBe(false);
      }
    }
  });

  it('rejects size1 = 0, size1 > size2, negative or fractional sizes, and an index beyond the tree', () => {
    expect(() => verifyConsistency(0, 8, EMPTY_ROOT, root(8), [])).toThrow(InvalidInputError);
    expect(() => verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).toThrow(InvalidInputError);
    expect(() => verifyConsistency(5, 4, root(5), root(4), [])).toThrow(InvalidInputError);
    expect(() => verifyConsistency(-1, 4, root(1), root(4), [])).toThrow(InvalidInputError);
    expect(() => verifyInclusion(1.5, 4, a, [], root(4))).toThrow(InvalidInputError);
    expect(() => verifyInclusion(4, 4, a, [], root(4))).toThrow(InvalidInputError);
    expect(() => verifyConsistency(8, 8, root(8), root(8), [])).not.toThrow();
    expect(() => verifyConsistency(8, 8, root(8), root(7), [])).toThrow(IntegrityError);
  });
});
