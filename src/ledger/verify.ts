/**
 * Verification, in the two places it runs: over the store (`custos ledger verify`), and offline
 * from an export, a checkpoint and a verifier key (what an outside auditor runs, with no store).
 * Both recompute the tree from the entry bytes; neither trusts a stored hash it can recompute.
 */
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { openLedgerCheckpoint, type Checkpoint } from './checkpoint.ts';
import { localLeafHasher, WorkerLeafHasher, type LeafHasher } from './leaf-hasher.ts';
import { EMPTY_TREE_ROOT, MerkleFrontier, equalHashes, leafHash, verifyConsistency, verifyInclusion } from './merkle.ts';
import { decodeBase64Strict, parseVerifierKey, type NoteVerifier } from './note.ts';
import { toHex } from './proof-format.ts';
import { consistencyProof, rootAt, type ConsistencyProof, type InclusionProof } from './proofs.ts';
import type { LedgerStorage, StoredEntry, StoredNode } from './storage.ts';

export type LedgerVerification =
  | {
      ok: true;
      /** Entries verified. */
      size: number;
      /** Hex root of the tree of `size` entries. */
      root: string;
      /** Signed checkpoints verified against the entries. */
      checkpoints: number;
      /** Size of the newest verified checkpoint (0 if none): entries beyond it carry no signature yet. */
      latestCheckpointSize: number;
    }
  | {
      ok: false;
      /** What is wrong, for a person: `entry 41: leaf hash does not match the tree (entry bytes changed?)`. */
      problem: string;
      /** The first entry at fault, when the problem is an entry. */
      index?: number;
    };

export interface VerifyLedgerOptions {
  /** Called after each batch with entries verified so far and the total. */
  onProgress?: (verified: number, total: number) => void;
  /** A checkpoint note an outsider kept; the log must still contain exactly the tree it signed. */
  trusted?: string;
  /** Entries per read and per leaf-node lookup (default 1000). */
  batchSize?: number;
  /**
   * Compare every stored tree node with the recomputed one even when all roots match (slower).
   * Without it, nodes are compared only to locate a problem the roots reveal.
   */
  deep?: boolean;
  /**
   * Hash leaves on a second thread for logs of at least this many entries (default 250,000; 0
   * always, Infinity never). Starting the worker costs ~0.3 s, which only a long log repays.
   */
  hashWorkerFrom?: number;
}

const DEFAULT_HASH_WORKER_FROM = 250_000;

/** Raised inside verification and turned into `{ ok: false }` at the top. */
class VerificationProblem extends Error {
  constructor(
    message: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

interface CheckedCheckpoint {
  label: string;
  checkpoint: Checkpoint;
}

/**
 * Verifies the stored log: entries contiguous from 0; every stored tree node (leaf hashes and
 * interior nodes) equal to the one recomputed from the entries; every stored checkpoint signed by
 * a known key, its root equal to the recomputed one, sizes never decreasing, each consistent with
 * the next through a proof built from stored nodes; and, when given, an outsider's checkpoint
 * still matching the log. Returns the first problem found.
 * Throws InvalidInputError for a malformed verifier key; storage failures propagate.
 */
export async function verifyLedger(
  storage: LedgerStorage,
  verifierKeys: readonly string[],
  options: VerifyLedgerOptions = {},
): Promise<LedgerVerification> {
  const verifiers = verifierKeys.map(parseVerifierKey);
  const batchSize = options.batchSize ?? 1000;
  let hasher: LeafHasher = localLeafHasher;
  try {
    const size = await storage.size();
    const checkpoints = await loadCheckpoints(storage, verifiers, size);
    const trusted = options.trusted === undefined ? undefined : openTrusted(options.trusted, verifiers, size, checkpoints);
    const targets = trusted ? [...checkpoints, trusted] : checkpoints;
    if (size > 0 && size >= (options.hashWorkerFrom ?? DEFAULT_HASH_WORKER_FROM)) hasher = await WorkerLeafHasher.start();
    const replay = (progress: VerifyLedgerOptions['onProgress'], compareNodes: boolean) =>
      replayStoredEntries(storage, size, targets, batchSize, progress, compareNodes, hasher);
    let root: Uint8Array;
    if (options.deep) {
      root = await replay(options.onProgress, true);
    } else {
      try {
        // Fast pass: rehash the entries and check every signed root and the stored tree's root.
        root = await replay(options.onProgress, false);
        await compareStoredRoot(storage, size, root);
      } catch (err) {
        if (!(err instanceof VerificationProblem) || err.index !== undefined) throw err;
        // Something does not match: replay comparing every stored node, to name the first bad
        // entry; if the nodes were rewritten to match, the fast pass's finding stands.
        await replay(undefined, true);
        throw err;
      }
    }
    await checkConsistencyChain(storage, trusted ? [...checkpoints, trusted].sort(bySize) : checkpoints);
    return {
      ok: true,
      size,
      root: toHex(root),
      checkpoints: checkpoints.length,
      latestCheckpointSize: checkpoints.at(-1)?.checkpoint.size ?? 0,
    };
  } catch (err) {
    return asFailure(err);
  } finally {
    await hasher.close();
  }
}

export interface VerifyExportOptions {
  /** The signed checkpoint note the export is checked against. */
  checkpoint: string;
  verifierKeys: readonly string[];
  /** Called every 10,000 lines with the entries verified so far. */
  onProgress?: (verified: number) => void;
}

/**
 * Verifies `custos ledger export` output offline: JSON lines `{"index":i,"entry":"<base64>","leafHash":"<hex>"}`,
 * indexes contiguous from 0, each leafHash equal to the hash of its entry, and the root recomputed
 * at the checkpoint's size equal to the signed one. Needs no store.
 */
export async function verifyExport(lines: AsyncIterable<string>, options: VerifyExportOptions): Promise<LedgerVerification> {
  const verifiers = options.verifierKeys.map(parseVerifierKey);
  try {
    const checkpoint = openCheckpointForVerification(options.checkpoint, verifiers, 'checkpoint');
    const frontier = MerkleFrontier.empty();
    if (checkpoint.size === 0) compareRoot(checkpoint, EMPTY_TREE_ROOT, 'checkpoint at size 0');
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      const index = frontier.size;
      const entry = parseExportLine(line, lineNumber, index);
      const hash = leafHash(entry.bytes);
      if (entry.leafHash !== toHex(hash)) {
        throw new VerificationProblem(`line ${lineNumber}: entry ${index}: leafHash does not match the entry bytes`, index);
      }
      frontier.append(hash);
      if (frontier.size === checkpoint.size) compareRoot(checkpoint, frontier.root(), `checkpoint at size ${checkpoint.size}`);
      if (lineNumber % 10_000 === 0) options.onProgress?.(frontier.size);
    }
    if (frontier.size < checkpoint.size) {
      throw new VerificationProblem(`the export ends after ${frontier.size} entries but the checkpoint covers ${checkpoint.size}`, frontier.size);
    }
    options.onProgress?.(frontier.size);
    return { ok: true, size: frontier.size, root: toHex(frontier.root()), checkpoints: 1, latestCheckpointSize: checkpoint.size };
  } catch (err) {
    return asFailure(err);
  }
}

/**
 * Checks an inclusion proof against a signed checkpoint of the same size, and, when `entry` is
 * given, that the proof is about those bytes. Returns the checkpoint.
 * Throws InvalidInputError for malformed input, IntegrityError when anything does not verify.
 */
export function verifyInclusionProofAgainstCheckpoint(
  proof: InclusionProof,
  checkpointNote: string,
  verifierKeys: readonly string[],
  entry?: Uint8Array,
): Checkpoint {
  const checkpoint = openLedgerCheckpoint(checkpointNote, verifierKeys.map(parseVerifierKey));
  if (proof.size !== checkpoint.size) {
    throw new InvalidInputError(`the proof is for a tree of ${proof.size} entries but the checkpoint is for ${checkpoint.size}`, { field: 'size' });
  }
  if (entry !== undefined && !equalHashes(leafHash(entry), proof.leafHash)) {
    throw new IntegrityError(`the entry's leaf hash is not the proof's leaf hash for entry ${proof.index}`);
  }
  verifyInclusion(proof.index, proof.size, proof.leafHash, proof.proof, checkpoint.root);
  return checkpoint;
}

/**
 * Checks a consistency proof between two signed checkpoints of the same log: the newer one's tree
 * extends the older one's. Returns both checkpoints.
 * Throws InvalidInputError for malformed input, IntegrityError when anything does not verify.
 */
export function verifyConsistencyProofAgainstCheckpoints(
  proof: ConsistencyProof,
  olderNote: string,
  newerNote: string,
  verifierKeys: readonly string[],
): { older: Checkpoint; newer: Checkpoint } {
  const verifiers = verifierKeys.map(parseVerifierKey);
  const older = openLedgerCheckpoint(olderNote, verifiers);
  const newer = openLedgerCheckpoint(newerNote, verifiers);
  if (older.origin !== newer.origin) throw new IntegrityError(`the checkpoints are of different logs: "${older.origin}" and "${newer.origin}"`);
  if (proof.from !== older.size || proof.to !== newer.size) {
    throw new InvalidInputError(
      `the proof is from ${proof.from} to ${proof.to} entries but the checkpoints are at ${older.size} and ${newer.size}`,
      { field: 'from' },
    );
  }
  verifyConsistency(older.size, newer.size, older.root, newer.root, proof.proof);
  return { older, newer };
}

async function loadCheckpoints(storage: LedgerStorage, verifiers: NoteVerifier[], logSize: number): Promise<CheckedCheckpoint[]> {
  const checked: CheckedCheckpoint[] = [];
  for await (const stored of storage.listCheckpoints()) {
    const label = `checkpoint at size ${stored.size}`;
    const checkpoint = openCheckpointForVerification(stored.note, verifiers, label);
    if (checkpoint.size !== stored.size) throw new VerificationProblem(`${label}: the signed note is for size ${checkpoint.size}`);
    const previous = checked.at(-1)?.checkpoint;
    if (previous && checkpoint.origin !== previous.origin) {
      throw new VerificationProblem(`${label}: origin "${checkpoint.origin}" differs from the earlier checkpoints' "${previous.origin}"`);
    }
    if (previous && checkpoint.size < previous.size) {
      throw new VerificationProblem(`${label}: checkpoint sizes decrease (${previous.size} then ${checkpoint.size})`);
    }
    if (previous && checkpoint.size === previous.size) {
      if (!equalHashes(previous.root, checkpoint.root)) throw new VerificationProblem(`${label}: two signed checkpoints with different roots (the log forked)`);
      continue;
    }
    if (checkpoint.size > logSize) {
      throw new VerificationProblem(`${label}: the log holds only ${logSize} entries (entries removed from the end?)`, logSize);
    }
    checked.push({ label, checkpoint });
  }
  return checked;
}

function openTrusted(note: string, verifiers: NoteVerifier[], logSize: number, checkpoints: readonly CheckedCheckpoint[]): CheckedCheckpoint {
  const checkpoint = openCheckpointForVerification(note, verifiers, 'trusted checkpoint');
  const label = `trusted checkpoint at size ${checkpoint.size}`;
  const origin = checkpoints[0]?.checkpoint.origin;
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw new VerificationProblem(`${label}: origin "${checkpoint.origin}" is not this log's "${origin}"`);
  }
  if (checkpoint.size > logSize) {
    throw new VerificationProblem(`${label}: the log holds only ${logSize} entries (truncated or forked since)`, logSize);
  }
  return { label, checkpoint };
}

function openCheckpointForVerification(note: string, verifiers: NoteVerifier[], label: string): Checkpoint {
  try {
    return openLedgerCheckpoint(note, verifiers);
  } catch (err) {
    if (err instanceof IntegrityError) throw new VerificationProblem(`${label}: signature does not verify under any known key`);
    if (err instanceof InvalidInputError) throw new VerificationProblem(`${label}: malformed (${err.message})`);
    throw err;
  }
}

/**
 * Rehashes every entry and rebuilds the tree, checking each node it completes (leaves and
 * interior nodes alike) against the stored one, then the roots at the target sizes.
 */
async function replayStoredEntries(
  storage: LedgerStorage,
  size: number,
  targets: readonly CheckedCheckpoint[],
  batchSize: number,
  onProgress: ((verified: number, total: number) => void) | undefined,
  compareNodes: boolean,
  hasher: LeafHasher,
): Promise<Uint8Array> {
  const pending = [...targets].sort(bySize);
  const frontier = MerkleFrontier.empty();
  const rootsReached: { target: CheckedCheckpoint; root: Uint8Array }[] = [];
  const reachTargets = (): void => {
    while (pending[0] && pending[0].checkpoint.size === frontier.size) {
      rootsReached.push({ target: pending.shift() as CheckedCheckpoint, root: frontier.root() });
    }
  };
  reachTargets();
  const apply = async (batch: StoredEntry[], leaves: Uint8Array[]): Promise<void> => {
    // The nodes each leaf completes are collected only to compare them with the stored ones.
    const completed: StoredNode[] | undefined = compareNodes ? [] : undefined;
    for (let i = 0; i < batch.length; i++) {
      const index = (batch[i] as StoredEntry).index;
      const expected = frontier.size;
      if (index > expected) throw new VerificationProblem(`entry ${expected} is missing (deleted?)`, expected);
      if (index < expected) throw new VerificationProblem(`entry ${index} appears twice or out of order`, index);
      frontier.append(leaves[i] as Uint8Array, completed);
      if (pending.length > 0) reachTargets();
    }
    // Stored nodes first: a changed entry is reported at its index, not at the next checkpoint.
    if (completed) await compareStoredNodes(storage, completed);
    for (const { target, root } of rootsReached.splice(0)) compareRoot(target.checkpoint, root, target.label);
    onProgress?.(frontier.size, size);
  };
  // One batch's leaves are hashed while the next batch is read.
  let previous: { batch: StoredEntry[]; leaves: Promise<Uint8Array[]> } | undefined;
  for await (const batch of entryBatches(storage, size, batchSize)) {
    const leaves = hasher.hash(batch.map((e) => e.entry));
    leaves.catch(() => {});
    if (previous) await apply(previous.batch, await previous.leaves);
    previous = { batch, leaves };
  }
  if (previous) await apply(previous.batch, await previous.leaves);
  if (frontier.size < size) throw new VerificationProblem(`entry ${frontier.size} is missing (deleted?)`, frontier.size);
  for (const { target, root } of rootsReached) compareRoot(target.checkpoint, root, target.label);
  return frontier.root();
}

async function* entryBatches(storage: LedgerStorage, size: number, batchSize: number): AsyncIterable<StoredEntry[]> {
  if (storage.readEntryBatches) {
    yield* storage.readEntryBatches(0, size, batchSize);
    return;
  }
  let batch: StoredEntry[] = [];
  for await (const entry of storage.readEntries(0, size)) {
    batch.push(entry);
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** One getNodes call for the batch; the first difference, in leaf order, is the one reported. */
async function compareStoredNodes(storage: LedgerStorage, recomputed: readonly StoredNode[]): Promise<void> {
  let stored: Uint8Array[];
  try {
    // A StoredNode is a NodeKey; passing them as they are saves an allocation per node.
    stored = await storage.getNodes(recomputed as StoredNode[]);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    const first = recomputed[0]?.index ?? 0;
    throw new VerificationProblem(`a tree node for entries from ${first} on is missing from the store (${err.message})`, first);
  }
  for (let i = 0; i < recomputed.length; i++) {
    const node = recomputed[i] as StoredNode;
    if (equalHashes(node.hash, stored[i] as Uint8Array)) continue;
    if (node.level === 0) {
      throw new VerificationProblem(`entry ${node.index}: leaf hash does not match the tree (entry bytes changed?)`, node.index);
    }
    const width = 2 ** node.level;
    throw new VerificationProblem(
      `entries ${node.index * width}–${(node.index + 1) * width - 1}: the stored tree node (level ${node.level}, index ${node.index}) does not match the entries (entries or tree nodes altered?)`,
    );
  }
}

/** Each checkpoint must extend the previous one, by a proof built from stored nodes (RFC 9162 §2.1.4). */
async function checkConsistencyChain(storage: LedgerStorage, checkpoints: readonly CheckedCheckpoint[]): Promise<void> {
  for (let i = 1; i < checkpoints.length; i++) {
    const older = (checkpoints[i - 1] as CheckedCheckpoint).checkpoint;
    const newer = (checkpoints[i] as CheckedCheckpoint).checkpoint;
    if (older.size === 0 || older.size === newer.size) continue;
    try {
      const { proof } = await consistencyProof(storage, older.size, newer.size);
      verifyConsistency(older.size, newer.size, older.root, newer.root, proof);
    } catch (err) {
      if (!(err instanceof IntegrityError || err instanceof InvalidInputError)) throw err;
      throw new VerificationProblem(`checkpoints at sizes ${older.size} and ${newer.size}: not consistent through the stored tree (${err.message})`);
    }
  }
}

/** The root of the stored tree (from its nodes, as proofs are built) must be the entries' root. */
async function compareStoredRoot(storage: LedgerStorage, size: number, computed: Uint8Array): Promise<void> {
  if (size === 0) return;
  let stored: Uint8Array;
  try {
    stored = await rootAt(storage, size);
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err;
    throw new VerificationProblem(`the stored tree is incomplete (${err.message})`);
  }
  if (!equalHashes(stored, computed)) {
    throw new VerificationProblem('the stored tree does not match the entries (entries or tree nodes altered after the latest checkpoint?)');
  }
}

function compareRoot(checkpoint: Checkpoint, computed: Uint8Array, label: string): void {
  if (!equalHashes(checkpoint.root, computed)) {
    throw new VerificationProblem(`${label}: signed root does not match the root of the entries (entries changed after signing?)`);
  }
}

function parseExportLine(line: string, lineNumber: number, expectedIndex: number): { bytes: Buffer; leafHash: unknown } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new VerificationProblem(`line ${lineNumber}: not JSON`, expectedIndex);
  }
  const o = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (o.index !== expectedIndex) {
    throw new VerificationProblem(
      typeof o.index === 'number' && o.index > expectedIndex
        ? `line ${lineNumber}: entry ${expectedIndex} is missing (found entry ${o.index})`
        : `line ${lineNumber}: expected entry ${expectedIndex}, found ${JSON.stringify(o.index)}`,
      expectedIndex,
    );
  }
  if (typeof o.entry !== 'string') throw new VerificationProblem(`line ${lineNumber}: entry ${expectedIndex} has no base64 "entry"`, expectedIndex);
  try {
    return { bytes: decodeBase64Strict(o.entry, 'entry'), leafHash: o.leafHash };
  } catch {
    throw new VerificationProblem(`line ${lineNumber}: entry ${expectedIndex}: "entry" is not valid base64`, expectedIndex);
  }
}

function bySize(a: CheckedCheckpoint, b: CheckedCheckpoint): number {
  return a.checkpoint.size - b.checkpoint.size;
}

function asFailure(err: unknown): LedgerVerification {
  if (err instanceof VerificationProblem) return { ok: false, problem: err.message, ...(err.index !== undefined ? { index: err.index } : {}) };
  // A store that fails mid-read (IntegrityError from getNodes, say) is a finding too, not a crash.
  if (err instanceof IntegrityError) return { ok: false, problem: err.message };
  throw err;
}
