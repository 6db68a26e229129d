import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { openLedgerCheckpoint, signCheckpoint } from './checkpoint.ts';
import { parseVerifierKey } from './note.ts';
import { SIGNING_KEY_FILE, loadOrCreateSigningKeys, loadSigningKeys, rotateSigningKey } from './signing-key.ts';
import { ROOTS } from './test-vectors.ts';

const posix = process.platform !== 'win32';
const now = () => new Date('2025-03-01T12:00:00Z');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'custos-ledger-key-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ledger signing key file', () => {
  it('is created with mode 0600, a random custos/ origin and one key that signs', async () => {
    const keys = await loadOrCreateSigningKeys(join(dir, 'keys'), { now });
    expect(keys.path).toBe(join(dir, 'keys', SIGNING_KEY_FILE));
    if (posix) expect((await stat(keys.path)).mode & 0o777).toBe(0o600);
    expect(keys.origin).toMatch(/^custos\/[0-9a-f]{8}$/);
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]?.createdAt).toBe('2025-03-01T12:00:00.000Z');
    expect(keys.signer().name).toBe(keys.origin);
    const verifierKeys = keys.verifierKeys();
    expect(verifierKeys).toHaveLength(1);
    expect(parseVerifierKey(verifierKeys[0] as string).keyId).toBe(keys.signer().keyId);
    const file = JSON.parse(await readFile(keys.path, 'utf8'));
    expect(Object.keys(file)).toEqual(['version', 'origin', 'keys']);
  });

  it('loads the same key on the next start', async () => {
    const created = await loadOrCreateSigningKeys(dir, { now });
    const loaded = await loadOrCreateSigningKeys(dir, { now });
    expect(loaded.origin).toBe(created.origin);
    expect(loaded.verifierKeys()).toEqual(created.verifierKeys());
  });

  it('uses a configured origin, and refuses a different one for an existing file', async () => {
    const keys = await loadOrCreateSigningKeys(dir, { origin: 'bank.example/custos', now });
    expect(keys.origin).toBe('bank.example/custos');
    await expect(loadOrCreateSigningKeys(dir, { origin: 'bank.example/other', now })).rejects.toThrow(/cannot change/);
    await expect(loadOrCreateSigningKeys(join(dir, 'b'), { origin: 'has space', now })).rejects.toBeInstanceOf(ConfigError);
    await expect(loadOrCreateSigningKeys(join(dir, 'c'), { origin: 'a+b', now })).rejects.toBeInstanceOf(ConfigError);
  });

  it('rotates: a new key signs, the old one is retired but still verifies old checkpoints', async () => {
    const before = await loadOrCreateSigningKeys(dir, { now });
    const checkpoint = { origin: before.origin, size: 8, root: ROOTS[8] as Buffer, extensions: [] };
    const oldNote = signCheckpoint(checkpoint, before.signer());
    const later = new Date('2025-06-01T00:00:00Z');
    const after = await rotateSigningKey(before.path, later);
    expect(after.keys).toHaveLength(2);
    expect(after.keys[0]?.retiredAt).toBe(later.toISOString());
    expect(after.keys[1]?.retiredAt).toBeUndefined();
    expect(after.signer().keyId).not.toBe(before.signer().keyId);
    const verifiers = after.verifierKeys().map(parseVerifierKey);
    expect(openLedgerCheckpoint(oldNote, verifiers).size).toBe(8);
    expect(openLedgerCheckpoint(signCheckpoint(checkpoint, after.signer()), verifiers).size).toBe(8);
    const reloaded = await loadSigningKeys(before.path);
    expect(reloaded.signer().keyId).toBe(after.signer().keyId);
    if (posix) expect((await stat(before.path)).mode & 0o777).toBe(0o600);
  });

  it.skipIf(!posix)('refuses a key file other users can read', async () => {
    const keys = await loadOrCreateSigningKeys(dir, { now });
    await chmod(keys.path, 0o644);
    await expect(loadSigningKeys(keys.path)).rejects.toThrow(/chmod 600/);
  });

  it('names the field at fault in a malformed file', async () => {
    const keys = await loadOrCreateSigningKeys(dir, { now });
    const good = JSON.parse(await readFile(keys.path, 'utf8'));
    const cases: [unknown, RegExp][] = [
      [{ ...good, version: 2 }, /version/],
      [{ ...good, origin: '' }, /origin/],
      [{ ...good, keys: [] }, /keys must be a non-empty array/],
      [{ ...good, keys: [{ ...good.keys[0], seed: 'AAAA' }] }, /keys\[0\]\.seed/],
      [{ ...good, keys: [good.keys[0], { ...good.keys[0], createdAt: 'yesterday' }] }, /keys\[1\]\.createdAt/],
      [{ ...good, keys: [{ ...good.keys[0], retiredAt: 5 }] }, /keys\[0\]\.retiredAt/],
    ];
    for (const [content, message] of cases) {
      await writeFile(keys.path, JSON.stringify(content), { mode: 0o600 });
      await expect(loadSigningKeys(keys.path)).rejects.toThrow(message);
    }
    await writeFile(keys.path, '{not json', { mode: 0o600 });
    await expect(loadSigningKeys(keys.path)).rejects.toThrow(/not JSON/);
  });

  it('reports a missing file and an all-retired file as configuration errors', async () => {
    await expect(loadSigningKeys(join(dir, 'absent.json'))).rejects.toBeInstanceOf(ConfigError);
    const keys = await loadOrCreateSigningKeys(dir, { now });
    const file = JSON.parse(await readFile(keys.path, 'utf8'));
    file.keys[0].retiredAt = '2025-03-02T00:00:00Z';
    await writeFile(keys.path, JSON.stringify(file), { mode: 0o600 });
    const retired = await loadSigningKeys(keys.path);
    expect(retired.verifierKeys()).toHaveLength(1);
    expect(() => retired.signer()).toThrow(/retired/);
  });

  it('creates the file once when two starts race', async () => {
    const [a, b] = await Promise.all([loadOrCreateSigningKeys(dir, { now }), loadOrCreateSigningKeys(dir, { now })]);
    expect(a.verifierKeys()).toEqual(b.verifierKeys());
  });

  it('is not created for a log that already has entries (the file was lost or misplaced)', async () => {
    await expect(loadOrCreateSigningKeys(dir, { now, mayCreate: async () => false })).rejects.toThrow(/no ledger signing key file, but the ledger already holds entries/);
    await expect(stat(join(dir, SIGNING_KEY_FILE))).rejects.toThrow();
    const created = await loadOrCreateSigningKeys(dir, { now, mayCreate: async () => true });
    // An existing file is loaded whatever mayCreate says.
    expect((await loadOrCreateSigningKeys(dir, { now, mayCreate: async () => false })).origin).toBe(created.origin);
  });
});
