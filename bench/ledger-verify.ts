/**
 * A large SQLite ledger with signed checkpoints, then: full verification (verifyLedger) against
 * raw SHA-256 of the same entry bytes, and proof latency against a single stored-node lookup,
 * the least any proof can cost.
 */
import { createHash, hash } from 'node:crypto';
import { join } from 'node:path';
import {
  LedgerAppender,
  LedgerCheckpointer,
  consistencyProof,
  inclusionProof,
  loadOrCreateSigningKeys,
  rootAt,
  verifyConsistency,
  verifyInclusion,
  verifyLedger,
} from '../src/ledger/index.ts';
import { seededRandom } from '../src/simulate/demo-org.ts';
import { Store } from '../src/store/store.ts';
import { accessEventEntries, type PackedEntries } from './access-events.ts';
import { median, nowMs, pairedFigure, percentile, type Figure, type RunPair } from './figures.ts';
import { RUNS, type BenchContext } from './section.ts';
import { formatCount } from './table.ts';

export interface VerifySizes {
  entries: number;
  checkpointEvery: number;
  proofs: number;
}

/** Entries per appendMany while building: one transaction each, far fewer than one per 1000 entries. */
const BUILD_CHUNK = 20_000;
/** One consistency proof in this many is also checked against roots recomputed from the tree. */
const CONSISTENCY_CHECK_EVERY = 50;

export async function verifyAndProofFigures(ctx: BenchContext, sizes: VerifySizes): Promise<Figure[]> {
  const t0 = nowMs();
  const entries = accessEventEntries(sizes.entries, 2);
  ctx.log(`ledger: generated ${sizes.entries.toLocaleString('en-US')} entries (${(entries.byteLength / entries.length).toFixed(0)} bytes on average) in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
  const store = await Store.open({ dialect: 'sqlite', file: join(ctx.tmpDir, 'verify.db') });
  try {
    const verifierKeys = await buildLedger(ctx, store, entries, sizes.checkpointEvery);
    const verify = await measureVerify(ctx, store, entries, verifierKeys, sizes.checkpointEvery);
    const proofs = await measureProofs(ctx, store, sizes.entries, sizes.proofs);
    return [...verify, ...proofs];
  } finally {
    await store.close();
  }
}

/** Appends every entry in big batches and signs a checkpoint each `every`; returns the verifier keys. */
async function buildLedger(ctx: BenchContext, store: Store, entries: PackedEntries, every: number): Promise<string[]> {
  const t0 = nowMs();
  const keys = await loadOrCreateSigningKeys(join(ctx.tmpDir, 'keys'), { now: () => new Date() });
  // Generous timeout: a 20k-entry batch is one large transaction, not a request waiting on it.
  const appender = await LedgerAppender.open(store.ledger, { timeoutMs: 120_000 });
  const checkpointer = await LedgerCheckpointer.open(store.ledger, keys.signer(), { every, intervalMs: 86_400_000, now: () => new Date() });
  // Batches never straddle a multiple of `every`, so checkpoints land exactly on them.
  const chunk = every % BUILD_CHUNK === 0 ? BUILD_CHUNK : every;
  for (let i = 0; i < entries.length; i += chunk) {
    await appender.appendMany(entries.slice(i, i + chunk));
    await checkpointer.noteAppended(appender.size);
  }
  await appender.close();
  await checkpointer.close();
  ctx.log(`ledger: built a ${entries.length.toLocaleString('en-US')}-entry SQLite ledger with checkpoints every ${every.toLocaleString('en-US')} in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
  // The access-event index follows in a worker thread; let it finish so it does not share the
  // machine with the timed verification.
  const t1 = nowMs();
  await store.eventIndex.catchUp();
  ctx.log(`ledger: the access-event index caught up in another ${((nowMs() - t1) / 1000).toFixed(1)} s`);
  return keys.verifierKeys();
}

async function measureVerify(ctx: BenchContext, store: Store, entries: PackedEntries, verifierKeys: string[], every: number): Promise<Figure[]> {
  const vsCreateHash: RunPair[] = [];
  const vsOneShot: RunPair[] = [];
  const deepVsCreateHash: RunPair[] = [];
  const checkpoints = Math.floor(entries.length / every);
  for (let i = 0; i < RUNS; i++) {
    const verified = await timeVerify(store, entries.length, verifierKeys, checkpoints, false);
    const deep = await timeVerify(store, entries.length, verifierKeys, checkpoints, true);
    const perEntry = entries.length / hashEach(entries, (b) => createHash('sha256').update(b).digest());
    const single = entries.length / hashEach(entries, (b) => hash('sha256', b, 'buffer'));
    ctx.log(`ledger: verify run ${i + 1}/${RUNS}: ${verified.toFixed(0)} entries/s, deep ${deep.toFixed(0)}/s; createHash ${perEntry.toFixed(0)}/s, crypto.hash ${single.toFixed(0)}/s`);
    vsCreateHash.push({ value: verified, baseline: perEntry });
    vsOneShot.push({ value: verified, baseline: single });
    deepVsCreateHash.push({ value: deep, baseline: perEntry });
  }
  const name = `verifyLedger, ${formatCount(entries.length)} entries`;
  return [
    pairedFigure({
      section: 'ledger',
      name,
      unit: 'entries/s',
      baselineName: 'SHA-256 per entry, createHash',
      runs: vsCreateHash,
      target: { on: 'ratio', op: '>=', bound: 0.5 },
      note: `verifyLedger reads every entry from SQLite, rehashes leaves and interior nodes (about 2 SHA-256 per entry) and checks ${checkpoints} signed roots, the stored root and the checkpoint chain; deep also compares every stored node; the baselines hash each entry's bytes once, from memory`,
    }),
    pairedFigure({ section: 'ledger', name, unit: 'entries/s', baselineName: 'SHA-256 per entry, crypto.hash', runs: vsOneShot }),
    pairedFigure({ section: 'ledger', name: `verifyLedger deep, ${formatCount(entries.length)} entries`, unit: 'entries/s', baselineName: 'SHA-256 per entry, createHash', runs: deepVsCreateHash }),
  ];
}

/** Entries per second through verifyLedger, after checking it verified what it should have. */
async function timeVerify(store: Store, size: number, verifierKeys: string[], checkpoints: number, deep: boolean): Promise<number> {
  const start = nowMs();
  const result = await verifyLedger(store.ledger, verifierKeys, { deep });
  const seconds = (nowMs() - start) / 1000;
  if (!result.ok) throw new Error(`verifyLedger${deep ? ' (deep)' : ''} failed: ${result.problem}`);
  if (result.size !== size || result.checkpoints < checkpoints) {
    throw new Error(`verifyLedger checked ${result.size} entries and ${result.checkpoints} checkpoints; expected ${size} and at least ${checkpoints}`);
  }
  return size / seconds;
}

/** Seconds to hash every entry with `digest`; the results are folded so none is optimised away. */
function hashEach(entries: PackedEntries, digest: (b: Buffer) => Buffer): number {
  let fold = 0;
  const start = nowMs();
  for (let i = 0; i < entries.length; i++) fold ^= (digest(entries.at(i))[0] as number);
  const seconds = (nowMs() - start) / 1000;
  if (fold < 0) throw new Error('unreachable');
  return seconds;
}

interface Latencies {
  inclusion: number[];
  consistency: number[];
  node: number[];
}

async function measureProofs(ctx: BenchContext, store: Store, size: number, count: number): Promise<Figure[]> {
  const ledger = store.ledger;
  const root = await rootAt(ledger, size);
  const rand = seededRandom(9);
  const below = (n: number) => Math.floor(rand() * n);
  // Untimed warm-up: prepared statements, page cache, JIT.
  for (let i = 0; i < 200; i++) {
    await inclusionProof(ledger, below(size), size);
    await ledger.getNodes([{ level: 0, index: below(size) }]);
  }
  const runs: Latencies[] = [];
  for (let r = 0; r < RUNS; r++) {
    const lat: Latencies = { inclusion: [], consistency: [], node: [] };
    for (let i = 0; i < count; i++) {
      const index = below(size);
      let t = nowMs();
      const proof = await inclusionProof(ledger, index, size);
      lat.inclusion.push(nowMs() - t);
      // Checked untimed: a fast wrong proof is no result.
      verifyInclusion(index, size, proof.leafHash, proof.proof, root);

      const a = 1 + below(size);
      const b = 1 + below(size);
      const [from, to] = a <= b ? [a, b] : [b, a];
      t = nowMs();
      const consistency = await consistencyProof(ledger, from, to);
      lat.consistency.push(nowMs() - t);
      if (i % CONSISTENCY_CHECK_EVERY === 0) verifyConsistency(from, to, await rootAt(ledger, from), await rootAt(ledger, to), consistency.proof);

      const key = { level: 0, index: below(size) };
      t = nowMs();
      await ledger.getNodes([key]);
      lat.node.push(nowMs() - t);
    }
    ctx.log(`ledger: proofs run ${r + 1}/${RUNS}: inclusion median ${median(lat.inclusion).toFixed(3)} ms, consistency ${median(lat.consistency).toFixed(3)} ms, one node ${median(lat.node).toFixed(3)} ms`);
    runs.push(lat);
  }
  const pairs = (kind: 'inclusion' | 'consistency', p: number): RunPair[] =>
    runs.map((l) => ({ value: percentile(l[kind], p), baseline: percentile(l.node, p) }));
  const at = `${formatCount(size)} entries`;
  const note = `${count.toLocaleString('en-US')} proofs of each kind per run at random indexes/sizes, each through the public proof functions on SqlLedgerStorage; every inclusion proof verified (untimed)`;
  return [
    pairedFigure({ section: 'ledger', name: `inclusion proof median, ${at}`, unit: 'ms', baselineName: 'getNodes, one node, median', runs: pairs('inclusion', 50), target: { on: 'value', op: '<', bound: 1 }, note }),
    pairedFigure({ section: 'ledger', name: `inclusion proof p99, ${at}`, unit: 'ms', baselineName: 'getNodes, one node, p99', runs: pairs('inclusion', 99) }),
    pairedFigure({ section: 'ledger', name: `consistency proof median, ${at}`, unit: 'ms', baselineName: 'getNodes, one node, median', runs: pairs('consistency', 50), target: { on: 'value', op: '<', bound: 1 } }),
    pairedFigure({ section: 'ledger', name: `consistency proof p99, ${at}`, unit: 'ms', baselineName: 'getNodes, one node, p99', runs: pairs('consistency', 99) }),
  ];
}
