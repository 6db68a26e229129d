import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { LedgerAppender } from './appender.ts';
import { signCheckpoint } from './checkpoint.ts';
import { LedgerCheckpointer } from './checkpointer.ts';
import { MemoryLedgerStorage } from './memory-storage.ts';
import { leafHash, rootOf } from './merkle.ts';
import { generateNoteKey, parseSignerKey } from './note.ts';
import { consistencyProofToJson, inclusionProofToJson, parseProofJson } from './proof-format.ts';
import { consistencyProof, inclusionProof, rootAt } from './proofs.ts';
import type { LedgerStorage, StoredCheckpoint } from './storage.ts';
import {
  verifyConsistencyProofAgainstCheckpoints,
  verifyExport,
  verifyInclusionProofAgainstCheckpoint,
  verifyLedger,
} from './verify.ts';

const ORIGIN = 'custos/verify-test';
const key = generateNoteKey(ORIGIN);
const signer = parseSignerKey(key.signerKey);
const verifierKeys = [key.verifierKey];
const entry = (n: number): Buffer => Buffer.from(JSON.stringify({ id: `evt-${n}`, actor: 'alice', n }));

/** 100 entries, checkpoints every 10. */
async function buildLedger(count = 100, every = 10): Promise<MemoryLedgerStorage> {
  const storage = new MemoryLedgerStorage();
  const checkpointer = await LedgerCheckpointer.open(storage, signer, { every, intervalMs: 3_600_000, now: () => new Date('2025-03-01T00:00:00Z') });
  const appender = await LedgerAppender.open(storage);
  for (let n = 0; n < count; n++) {
    const { index } = await appender.append(entry(n));
    await checkpointer.noteAppended(index + 1);
  }
  await checkpointer.close();
  return storage;
}

async function checkpointAt(storage: LedgerStorage, size: number): Promise<StoredCheckpoint> {
  for await (const c of storage.listCheckpoints()) if (c.size === size) return c;
  throw new Error(`no checkpoint at ${size}`);
}

async function* exportLines(storage: LedgerStorage): AsyncIterable<string> {
  for await (const e of storage.readEntries(0, await storage.size())) {
    yield JSON.stringify({ index: e.index, entry: Buffer.from(e.entry).toString('base64'), leafHash: leafHash(e.entry).toString('hex') });
  }
}

async function* linesOf(lines: string[]): AsyncIterable<string> {
  yield* lines;
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const l of lines) all.push(l);
  return all;
}

for (const hashWorkerFrom of [Infinity, 0]) {
describe(`verifyLedger, leaves hashed ${hashWorkerFrom === 0 ? 'on a worker thread' : 'in process'}`, () => {
  const verify: typeof verifyLedger = (storage, keys, options = {}) => verifyLedger(storage, keys, { hashWorkerFrom, ...options });

  it('accepts an untouched ledger and reports its size, root and checkpoints', async () => {
    const storage = await buildLedger();
    const progress: number[] = [];
    const result = await verify(storage, verifierKeys, { batchSize: 32, onProgress: (done) => progress.push(done) });
    const leaves = Array.from({ length: 100 }, (_, n) => leafHash(entry(n)));
    expect(result).toEqual({ ok: true, size: 100, root: Buffer.from(rootOf(leaves)).toString('hex'), checkpoints: 10, latestCheckpointSize: 100 });
    expect(progress).toEqual([32, 64, 96, 100]);
  });

  it('accepts an empty ledger, and one with entries beyond the last checkpoint', async () => {
    expect(await verify(new MemoryLedgerStorage(), verifierKeys)).toMatchObject({ ok: true, size: 0, checkpoints: 0 });
    const storage = await buildLedger(25, 10);
    const appender = await LedgerAppender.open(storage);
    await appender.append(entry(25));
    expect(await verify(storage, verifierKeys)).toMatchObject({ ok: true, size: 26, checkpoints: 3, latestCheckpointSize: 25 });
  });

  it('detects one changed byte in an entry, naming the index', async () => {
    const storage = await buildLedger();
    const bytes = entry(41);
    bytes[5] = (bytes[5] as number) ^ 1;
    storage.tamperEntry(41, bytes);
    expect(await verify(storage, verifierKeys)).toEqual({
      ok: false,
      index: 41,
      problem: 'entry 41: leaf hash does not match the tree (entry bytes changed?)',
    });
  });

  it('detects a deleted entry, naming the missing index', async () => {
    const storage = await buildLedger();
    storage.deleteEntry(41);
    expect(await verify(storage, verifierKeys)).toEqual({ ok: false, index: 41, problem: 'entry 41 is missing (deleted?)' });
  });

  it('detects the last entries deleted, through the checkpoint that covered them', async () => {
    const storage = await buildLedger();
    storage.deleteEntry(99);
    const result = await verify(storage, verifierKeys);
    expect(result).toMatchObject({ ok: false, problem: 'checkpoint at size 100: the log holds only 99 entries (entries removed from the end?)' });
  });

  it('detects two swapped entries at the first of them', async () => {
    const storage = await buildLedger();
    storage.swapEntries(17, 63);
    expect(await verify(storage, verifierKeys)).toMatchObject({ ok: false, index: 17 });
  });

  it('detects an entry rewritten together with its leaf node, through the first checkpoint after it', async () => {
    const storage = await buildLedger();
    const forged = Buffer.from('{"id":"evt-41","actor":"mallory"}');
    storage.tamperEntry(41, forged);
    storage.tamperNode({ level: 0, index: 41 }, leafHash(forged));
    expect(await verify(storage, verifierKeys)).toEqual({
      ok: false,
      problem: 'entries 40–41: the stored tree node (level 1, index 20) does not match the entries (entries or tree nodes altered?)',
    });
  });

  it('detects a whole subtree rewritten (entry and every node above it), through the first checkpoint after it', async () => {
    const storage = await buildLedger();
    const forged = Buffer.from('{"id":"evt-41","actor":"mallory"}');
    storage.tamperEntry(41, forged);
    const rewritten = new MemoryLedgerStorage();
    const copy = await LedgerAppender.open(rewritten);
    for (let n = 0; n < 100; n++) await copy.append(n === 41 ? forged : entry(n));
    // Copy every stored node of the rewritten tree over the original's.
    for (let level = 0; level < 7; level++) {
      for (let index = 0; (index + 1) * 2 ** level <= 100; index++) {
        const [hash] = await rewritten.getNodes([{ level, index }]);
        storage.tamperNode({ level, index }, hash as Uint8Array);
      }
    }
    expect(await verify(storage, verifierKeys)).toMatchObject({
      ok: false,
      problem: 'checkpoint at size 50: signed root does not match the root of the entries (entries changed after signing?)',
    });
  });

  it('detects an altered checkpoint', async () => {
    const storage = await buildLedger();
    const original = await checkpointAt(storage, 50);
    const [origin, size, , ...rest] = original.note.split('\n');
    const altered = [origin, size, Buffer.alloc(32, 7).toString('base64'), ...rest].join('\n');
    storage.tamperCheckpoint({ ...original, note: altered });
    expect(await verify(storage, verifierKeys)).toEqual({ ok: false, problem: 'checkpoint at size 50: signature does not verify under any known key' });
  });

  it('detects a checkpoint re-signed by a key it does not know, or stored under another size', async () => {
    const storage = await buildLedger();
    const forger = parseSignerKey(generateNoteKey(ORIGIN).signerKey);
    const note = signCheckpoint({ origin: ORIGIN, size: 30, root: await rootAt(storage, 30), extensions: [] }, forger);
    storage.tamperCheckpoint({ size: 30, note, signedAt: '2025-03-01T00:00:00Z' });
    expect(await verify(storage, verifierKeys)).toMatchObject({ ok: false, problem: 'checkpoint at size 30: signature does not verify under any known key' });

    const other = await buildLedger();
    other.tamperCheckpoint({ ...(await checkpointAt(other, 40)), size: 45 });
    expect(await verify(other, verifierKeys)).toMatchObject({ ok: false, problem: 'checkpoint at size 45: the signed note is for size 40' });
  });

  it('detects a checkpoint signed by the key over a forked tree', async () => {
    const storage = await buildLedger();
    const forkedRoot = Buffer.alloc(32, 9);
    const note = signCheckpoint({ origin: ORIGIN, size: 55, root: forkedRoot, extensions: [] }, signer);
    storage.tamperCheckpoint({ size: 55, note, signedAt: '2025-03-01T00:00:00Z' });
    expect(await verify(storage, verifierKeys)).toMatchObject({ ok: false, problem: expect.stringMatching(/^checkpoint at size 55: signed root does not match/) });
  });

  it('detects an altered interior tree node when asked to compare every node (deep)', async () => {
    const storage = await buildLedger();
    storage.tamperNode({ level: 5, index: 1 }, Buffer.alloc(32, 1)); // covers entries 32..63
    expect(await verify(storage, verifierKeys, { deep: true })).toEqual({
      ok: false,
      problem: 'entries 32–63: the stored tree node (level 5, index 1) does not match the entries (entries or tree nodes altered?)',
    });
  });

  it('detects a missing leaf node (deep)', async () => {
    const storage = await buildLedger();
    const broken = Object.assign(Object.create(storage) as MemoryLedgerStorage, {
      getNodes: async (keys: { level: number; index: number }[]) => {
        if (keys.some((k) => k.level === 0 && k.index === 70)) throw new IntegrityError('ledger node level 0 index 70 is missing from the store');
        return storage.getNodes(keys);
      },
    });
    expect(await verify(broken, verifierKeys, { batchSize: 10, deep: true })).toMatchObject({ ok: false, index: 70 });
  });

  it('gives the same answers without readEntryBatches', async () => {
    const storage = await buildLedger();
    const plain: LedgerStorage = {
      size: () => storage.size(),
      appendBatch: (s, e, n) => storage.appendBatch(s, e, n),
      getNodes: (k) => storage.getNodes(k),
      readEntries: (f, t) => storage.readEntries(f, t),
      saveCheckpoint: (c) => storage.saveCheckpoint(c),
      latestCheckpoint: () => storage.latestCheckpoint(),
      listCheckpoints: () => storage.listCheckpoints(),
    };
    expect(await verify(plain, verifierKeys, { batchSize: 7 })).toMatchObject({ ok: true, size: 100 });
    storage.deleteEntry(12);
    expect(await verify(plain, verifierKeys, { batchSize: 7 })).toMatchObject({ ok: false, index: 12 });
  });

  it('checks an outsider-held checkpoint against the log', async () => {
    const storage = await buildLedger();
    const trusted = (await checkpointAt(storage, 60)).note;
    expect(await verify(storage, verifierKeys, { trusted })).toMatchObject({ ok: true });

    // The operator rebuilt the log with entry 7 changed and re-signed every checkpoint with the same key.
    const rebuilt = new MemoryLedgerStorage();
    const checkpointer = await LedgerCheckpointer.open(rebuilt, signer, { every: 10, intervalMs: 3_600_000, now: () => new Date() });
    const appender = await LedgerAppender.open(rebuilt);
    for (let n = 0; n < 100; n++) {
      const { index } = await appender.append(n === 7 ? Buffer.from('{"rewritten":true}') : entry(n));
      await checkpointer.noteAppended(index + 1);
    }
    expect(await verify(rebuilt, verifierKeys)).toMatchObject({ ok: true });
    expect(await verify(rebuilt, verifierKeys, { trusted })).toMatchObject({
      ok: false,
      problem: 'trusted checkpoint at size 60: signed root does not match the root of the entries (entries changed after signing?)',
    });

    const truncated = await buildLedger(50, 10);
    expect(await verify(truncated, verifierKeys, { trusted })).toMatchObject({ ok: false, problem: expect.stringMatching(/^trusted checkpoint at size 60: the log holds only 50/) });

    const stranger = generateNoteKey('custos/stranger');
    const foreign = signCheckpoint({ origin: 'custos/stranger', size: 10, root: await rootAt(storage, 10), extensions: [] }, parseSignerKey(stranger.signerKey));
    expect(await verify(storage, [...verifierKeys, stranger.verifierKey], { trusted: foreign })).toMatchObject({ ok: false, problem: expect.stringMatching(/is not this log's/) });
  });

  it('throws InvalidInputError for a malformed verifier key', async () => {
    await expect(verify(new MemoryLedgerStorage(), ['not a key'])).rejects.toBeInstanceOf(InvalidInputError);
  });
});
}

describe('verifyExport', () => {
  it('verifies an export against a checkpoint with no store', async () => {
    const storage = await buildLedger();
    const checkpoint = (await checkpointAt(storage, 70)).note;
    const result = await verifyExport(exportLines(storage), { checkpoint, verifierKeys });
    expect(result).toEqual({ ok: true, size: 100, root: Buffer.from(await rootAt(storage, 100)).toString('hex'), checkpoints: 1, latestCheckpointSize: 70 });
  });

  it('detects a changed, missing or reordered line, a forged leafHash, and a short export', async () => {
    const storage = await buildLedger();
    const checkpoint = (await checkpointAt(storage, 100)).note;
    const lines = await collect(exportLines(storage));
    const run = (l: string[]) => verifyExport(linesOf(l), { checkpoint, verifierKeys });

    const changed = [...lines];
    const line41 = JSON.parse(changed[41] as string);
    line41.entry = Buffer.from('{"forged":1}').toString('base64');
    changed[41] = JSON.stringify(line41);
    expect(await run(changed)).toEqual({ ok: false, index: 41, problem: 'line 42: entry 41: leafHash does not match the entry bytes' });

    line41.leafHash = leafHash(Buffer.from('{"forged":1}')).toString('hex');
    changed[41] = JSON.stringify(line41);
    expect(await run(changed)).toMatchObject({ ok: false, problem: expect.stringMatching(/^checkpoint at size 100: signed root does not match/) });

    expect(await run(lines.filter((_, n) => n !== 41))).toMatchObject({ ok: false, index: 41, problem: 'line 42: entry 41 is missing (found entry 42)' });
    const swapped = [...lines];
    [swapped[3], swapped[4]] = [swapped[4] as string, swapped[3] as string];
    expect(await run(swapped)).toMatchObject({ ok: false, index: 3 });
    expect(await run(lines.slice(0, 90))).toMatchObject({ ok: false, problem: 'the export ends after 90 entries but the checkpoint covers 100' });
    expect(await run([...lines.slice(0, 5), 'garbage'])).toMatchObject({ ok: false, problem: 'line 6: not JSON' });
    expect(await run([...lines.slice(0, 5), '{"index":5,"entry":"@@@","leafHash":"00"}'])).toMatchObject({ ok: false, problem: expect.stringMatching(/not valid base64/) });
  });

  it('rejects a checkpoint it cannot verify', async () => {
    const storage = await buildLedger();
    const checkpoint = (await checkpointAt(storage, 100)).note;
    const stranger = generateNoteKey(ORIGIN).verifierKey;
    expect(await verifyExport(exportLines(storage), { checkpoint, verifierKeys: [stranger] })).toMatchObject({
      ok: false,
      problem: 'checkpoint: signature does not verify under any known key',
    });
  });
});

describe('proof files checked against checkpoints', () => {
  it('round-trips an inclusion proof through JSON and verifies it, with and without the entry', async () => {
    const storage = await buildLedger();
    const checkpoint = (await checkpointAt(storage, 80)).note;
    const json = JSON.stringify(inclusionProofToJson(await inclusionProof(storage, 41, 80)));
    expect(JSON.parse(json)).toMatchObject({ type: 'inclusion', index: 41, size: 80, leafHash: leafHash(entry(41)).toString('hex') });
    const proof = parseProofJson(json);
    if (proof.type !== 'inclusion') throw new Error('expected an inclusion proof');
    expect(verifyInclusionProofAgainstCheckpoint(proof, checkpoint, verifierKeys).size).toBe(80);
    expect(verifyInclusionProofAgainstCheckpoint(proof, checkpoint, verifierKeys, entry(41)).origin).toBe(ORIGIN);
    expect(() => verifyInclusionProofAgainstCheckpoint(proof, checkpoint, verifierKeys, entry(42))).toThrow(IntegrityError);
    expect(() => verifyInclusionProofAgainstCheckpoint({ ...proof, index: 40 }, checkpoint, verifierKeys)).toThrow(IntegrityError);
    const ninety = (await checkpointAt(storage, 90)).note;
    expect(() => verifyInclusionProofAgainstCheckpoint(proof, ninety, verifierKeys)).toThrow(InvalidInputError);
    expect(() => verifyInclusionProofAgainstCheckpoint(proof, checkpoint, [generateNoteKey(ORIGIN).verifierKey])).toThrow(IntegrityError);
  });

  it('round-trips a consistency proof through JSON and verifies it between two checkpoints', async () => {
    const storage = await buildLedger();
    const older = (await checkpointAt(storage, 30)).note;
    const newer = (await checkpointAt(storage, 70)).note;
    const json = JSON.stringify(consistencyProofToJson(await consistencyProof(storage, 30, 70)));
    const proof = parseProofJson(json);
    if (proof.type !== 'consistency') throw new Error('expected a consistency proof');
    const { older: o, newer: n } = verifyConsistencyProofAgainstCheckpoints(proof, older, newer, verifierKeys);
    expect([o.size, n.size]).toEqual([30, 70]);
    expect(() => verifyConsistencyProofAgainstCheckpoints(proof, newer, older, verifierKeys)).toThrow(InvalidInputError);
    const bent = { ...proof, proof: proof.proof.map((h, i) => (i === 0 ? Buffer.alloc(32) : h)) };
    expect(() => verifyConsistencyProofAgainstCheckpoints(bent, older, newer, verifierKeys)).toThrow(IntegrityError);
  });

  it('names the field at fault in a malformed proof file', () => {
    expect(() => parseProofJson('{')).toThrow(/not JSON/);
    expect(() => parseProofJson('{"type":"other"}')).toThrow(/type/);
    expect(() => parseProofJson('{"type":"inclusion","index":-1,"size":2,"leafHash":"00","proof":[]}')).toThrow(/index/);
    expect(() => parseProofJson(`{"type":"inclusion","index":0,"size":2,"leafHash":"${'0'.repeat(64)}","proof":["zz"]}`)).toThrow(/proof\[0\]/);
    expect(() => parseProofJson('{"type":"consistency","from":1,"to":"2","proof":[]}')).toThrow(/to/);
  });
});
