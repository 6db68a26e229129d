import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, ConflictError, InvalidInputError } from '../errors.ts';
import { blindIndexEmail } from './blind-index.ts';
import { newDataKey, unwrapDataKey } from './envelope.ts';
import {
  createKeyRingFile,
  KEY_FILE_NAME,
  KeyRing,
  keyRingFromEnv,
  findKeyRing,
  rotateKeyRingFile,
  newKeyRingDocument,
  parseKeyRingDocument,
  readKeyRingFile,
  retireKek,
  rotateKek,
  type KeyRingDocument,
} from './keyring.ts';

const T0 = new Date('2026-01-31T09:00:00Z');
const T1 = new Date('2026-03-01T09:00:00Z');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custos-keyring-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function writeDoc(path: string, doc: unknown, fileMode = 0o600): void {
  writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc), { mode: fileMode });
  chmodSync(path, fileMode);
}

function expectConfigError(fn: () => unknown, ...fragments: string[]): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
  return caught as ConfigError;
}

describe('key file creation', () => {
  it('creates the file 0600 and a missing directory 0700, and loads the same ring again', () => {
    const keyDir = join(dir, 'nested', 'keys');
    const path = join(keyDir, KEY_FILE_NAME);
    expect(findKeyRing({ dir: keyDir, env: {} })).toBeUndefined();
    expect(existsSync(path)).toBe(false); // finding never creates
    const first = createKeyRingFile(path, T0);
    expect(mode(path)).toBe(0o600);
    expect(mode(keyDir)).toBe(0o700);
    expect(first.source).toEqual({ kind: 'file', path });

    const second = findKeyRing({ dir: keyDir, env: {} })!;
    expect(second.currentKekId).toBe(first.currentKekId);
    expect(second.ringId).toBe(first.ringId);
    expect(first.ringId).toMatch(/^ring-[0-9a-f]{16}$/);
    expect(blindIndexEmail(second, 'a@b.example')).toBe(blindIndexEmail(first, 'a@b.example'));
    const { dataKey, wrapped } = newDataKey(first, 'c1');
    expect(unwrapDataKey(second, 'c1', wrapped).equals(dataKey)).toBe(true);
  });

  it('writes a well-formed version-1 document with one current KEK dated now', () => {
    const path = join(dir, KEY_FILE_NAME);
    createKeyRingFile(path, T0);
    const doc = JSON.parse(readFileSync(path, 'utf8')) as KeyRingDocument;
    expect(doc.version).toBe(1);
    expect(doc.keks).toHaveLength(1);
    expect(doc.keks[0]!.id).toBe(doc.currentKek);
    expect(doc.keks[0]!.id).toMatch(/^kek-20260131-[0-9a-f]{8}$/);
    expect(doc.keks[0]!.createdAt).toBe(T0.toISOString());
    expect(Buffer.from(doc.keks[0]!.key!, 'base64')).toHaveLength(32);
    expect(Buffer.from(doc.indexKey, 'base64')).toHaveLength(32);
    expect(doc.indexKey).not.toBe(doc.keks[0]!.key);
    expect(readdirSync(dir)).toEqual([KEY_FILE_NAME]); // no temp file left behind
  });

  it('refuses to overwrite an existing key file', () => {
    const path = join(dir, KEY_FILE_NAME);
    const first = createKeyRingFile(path, T0);
    expect(() => createKeyRingFile(path, T1)).toThrow(ConflictError);
    expect(readKeyRingFile(path).currentKekId).toBe(first.currentKekId);
  });

  it('never shows key material when logged or serialised', () => {
    const path = join(dir, KEY_FILE_NAME);
    const ring = createKeyRingFile(path, T0);
    const doc = JSON.parse(readFileSync(path, 'utf8')) as KeyRingDocument;
    const shown = JSON.stringify(ring) + inspect(ring, { depth: 10 });
    expect(shown).toContain(ring.currentKekId);
    expect(shown).not.toContain(doc.keks[0]!.key!);
    expect(shown).not.toContain(doc.indexKey);
    expect(shown).not.toContain(Buffer.from(doc.indexKey, 'base64').toString('hex'));
  });
});

describe('key file permissions', () => {
  it.each([0o644, 0o640, 0o604, 0o660, 0o602])('refuses a key file with mode %o', (m) => {
    const path = join(dir, KEY_FILE_NAME);
    writeDoc(path, newKeyRingDocument(T0), m);
    const err = expectConfigError(() => readKeyRingFile(path), path, 'chmod 600');
    expect(err.details).toMatchObject({ field: 'mode' });
    expectConfigError(() => findKeyRing({ dir, env: {} }), 'group or others');
  });

  it('accepts 0600 and 0400', () => {
    const path = join(dir, KEY_FILE_NAME);
    writeDoc(path, newKeyRingDocument(T0), 0o400);
    expect(readKeyRingFile(path)).toBeInstanceOf(KeyRing);
  });

  it('says so when the file is missing or not a file', () => {
    expectConfigError(() => readKeyRingFile(join(dir, 'nope.json')), 'nope.json', 'ENOENT');
    expectConfigError(() => readKeyRingFile(dir), 'not a regular file');
  });
});

describe('key file validation', () => {
  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(newKeyRingDocument(T0))) as Record<string, unknown>;
  const keks = (d: Record<string, unknown>): Array<Record<string, unknown>> => d.keks as Array<Record<string, unknown>>;
  const cases: Array<[string, (d: Record<string, unknown>) => unknown, string]> = [
    ['missing version', (d) => ({ ...d, version: undefined }), '"version"'],
    ['version 2', (d) => ({ ...d, version: 2 }), '"version"'],
    ['unknown top-level field', (d) => ({ ...d, indexkey: 'x' }), '"indexkey"'],
    ['no keks', (d) => ({ ...d, keks: [] }), '"keks"'],
    ['keks not an array', (d) => ({ ...d, keks: {} }), '"keks"'],
    ['kek not an object', (d) => ({ ...d, keks: ['x'] }), '"keks[0]"'],
    ['bad kek id', (d) => (keks(d)[0]!.id = 'has space', d), '"keks[0].id"'],
    ['short key', (d) => (keks(d)[0]!.key = Buffer.alloc(16).toString('base64'), d), '"keks[0].key"'],
    ['long key', (d) => (keks(d)[0]!.key = Buffer.alloc(33).toString('base64'), d), '"keks[0].key"'],
    ['non-canonical base64 key', (d) => (keks(d)[0]!.key = `${'A'.repeat(42)}B=`, d), '"keks[0].key"'],
    ['missing key', (d) => (delete keks(d)[0]!.key, d), '"keks[0].key"'],
    ['bad createdAt', (d) => (keks(d)[0]!.createdAt = 'yesterday', d), '"keks[0].createdAt"'],
    ['unknown kek field', (d) => (keks(d)[0]!.note = 'x', d), '"keks[0].note"'],
    ['duplicate kek id', (d) => ({ ...d, keks: [keks(d)[0], { ...keks(d)[0], key: Buffer.alloc(32, 1).toString('base64') }] }), '"keks[1].id"'],
    ['retired kek with key', (d) => ({ ...d, keks: [keks(d)[0], { id: 'old', key: Buffer.alloc(32, 1).toString('base64'), createdAt: T0.toISOString(), retiredAt: T1.toISOString() }] }), '"keks[1].key"'],
    ['bad retiredAt', (d) => ({ ...d, keks: [keks(d)[0], { id: 'old', createdAt: T0.toISOString(), retiredAt: 'soon' }] }), '"keks[1].retiredAt"'],
    ['missing currentKek', (d) => ({ ...d, currentKek: undefined }), '"currentKek"'],
    ['unknown currentKek', (d) => ({ ...d, currentKek: 'kek-x' }), '"currentKek"'],
    ['retired currentKek', (d) => ({ ...d, currentKek: 'old', keks: [keks(d)[0], { id: 'old', createdAt: T0.toISOString(), retiredAt: T1.toISOString() }] }), '"currentKek"'],
    ['missing indexKey', (d) => ({ ...d, indexKey: undefined }), '"indexKey"'],
    ['indexKey equal to a KEK', (d) => ({ ...d, indexKey: keks(d)[0]!.key }), '"indexKey"'],
  ];

  it.each(cases)('names the field: %s', (_name, mutate, field) => {
    const path = join(dir, KEY_FILE_NAME);
    writeDoc(path, mutate(base()));
    const err = expectConfigError(() => readKeyRingFile(path), path, field);
    expect(err.details).toMatchObject({ field: JSON.parse(field) as string });
  });

  it('accepts a valid document with a retired KEK tombstone', () => {
    const d = base();
    keks(d).push({ id: 'kek-old', createdAt: T0.toISOString(), retiredAt: T1.toISOString() });
    const doc = parseKeyRingDocument(d, 'test');
    expect(doc.keks.map((k) => k.id)).toContain('kek-old');
  });

  it('does not echo the file content when it is not JSON (it holds keys)', () => {
    const path = join(dir, KEY_FILE_NAME);
    writeDoc(path, '{"indexKey": "TOPSECRETKEYMATERIAL');
    const err = expectConfigError(() => readKeyRingFile(path), 'not valid JSON');
    expect(err.message).not.toContain('TOPSECRET');
  });
});

describe('CUSTOS_KEYRING', () => {
  it('reads the JSON document from the env var and creates no file', () => {
    const doc = newKeyRingDocument(T0);
    const ring = findKeyRing({ dir, env: { CUSTOS_KEYRING: JSON.stringify(doc) } })!;
    expect(ring.currentKekId).toBe(doc.currentKek);
    expect(ring.source).toEqual({ kind: 'env', variable: 'CUSTOS_KEYRING' });
    expect(existsSync(join(dir, KEY_FILE_NAME))).toBe(false);
  });

  it('reads base64 of the document, and it is the same ring', () => {
    const doc = newKeyRingDocument(T0);
    const fromJson = keyRingFromEnv(`\n ${JSON.stringify(doc, null, 2)}\n`);
    const fromB64 = findKeyRing({ dir, env: { CUSTOS_KEYRING: Buffer.from(JSON.stringify(doc)).toString('base64') } })!;
    expect(fromB64.currentKekId).toBe(doc.currentKek);
    expect(blindIndexEmail(fromB64, 'x@y.example')).toBe(blindIndexEmail(fromJson, 'x@y.example'));
  });

  it('wins over an existing key file', () => {
    const fileRing = createKeyRingFile(join(dir, KEY_FILE_NAME), T0);
    const doc = newKeyRingDocument(T0);
    const envRing = findKeyRing({ dir, env: { CUSTOS_KEYRING: JSON.stringify(doc) } })!;
    expect(envRing.currentKekId).toBe(doc.currentKek);
    expect(envRing.currentKekId).not.toBe(fileRing.currentKekId);
  });

  it('refuses empty, non-base64, non-JSON and invalid values, naming the variable and field', () => {
    expectConfigError(() => findKeyRing({ dir, env: { CUSTOS_KEYRING: '  ' } }), 'CUSTOS_KEYRING', 'empty');
    expect(existsSync(join(dir, KEY_FILE_NAME))).toBe(false);
    expectConfigError(() => keyRingFromEnv('not base64!'), 'CUSTOS_KEYRING');
    expectConfigError(() => keyRingFromEnv(Buffer.from('{oops').toString('base64')), 'CUSTOS_KEYRING', 'not valid JSON');
    expectConfigError(() => keyRingFromEnv(JSON.stringify({ ...newKeyRingDocument(T0), indexKey: 'short' })), 'CUSTOS_KEYRING', '"indexKey"');
  });

  it('finds nothing, and creates nothing, with neither the env var nor a file', () => {
    expect(findKeyRing({ dir, env: {} })).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('rotation', () => {
  it('rotateKek adds a current KEK, keeps the old, keeps the index key, and keeps the file 0600', () => {
    const path = join(dir, KEY_FILE_NAME);
    const before = createKeyRingFile(path, T0);
    const { dataKey, wrapped } = newDataKey(before, 'c1');
    const after = rotateKek(path, T1);
    expect(after.currentKekId).not.toBe(before.currentKekId);
    expect(after.currentKekId).toMatch(/^kek-20260301-/);
    expect(after.kekIds).toEqual([before.currentKekId, after.currentKekId]);
    expect(blindIndexEmail(after, 'john@example.com')).toBe(blindIndexEmail(before, 'john@example.com'));
    expect(unwrapDataKey(after, 'c1', wrapped).equals(dataKey)).toBe(true);
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(dir)).toEqual([KEY_FILE_NAME]); // neither temp nor lock file left
    expect(readKeyRingFile(path).currentKekId).toBe(after.currentKekId);
  });

  it('retireKek removes the material but keeps a dated tombstone; idempotent', () => {
    const path = join(dir, KEY_FILE_NAME);
    const first = createKeyRingFile(path, T0);
    const oldKey = (JSON.parse(readFileSync(path, 'utf8')) as KeyRingDocument).keks[0]!.key!;
    rotateKek(path, T1);
    const retired = retireKek(path, first.currentKekId, T1);
    expect(retired.kek(first.currentKekId)?.key).toBeUndefined();
    expect(retired.kek(first.currentKekId)?.retiredAt).toBe(T1.toISOString());
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(oldKey);
    const doc = JSON.parse(text) as KeyRingDocument;
    expect(doc.keks[0]).toEqual({ id: first.currentKekId, createdAt: T0.toISOString(), retiredAt: T1.toISOString() });
    expect(retireKek(path, first.currentKekId, new Date('2027-01-01T00:00:00Z')).kek(first.currentKekId)?.retiredAt).toBe(T1.toISOString());
    expect(mode(path)).toBe(0o600);
  });

  it('refuses to retire the current or an unknown KEK', () => {
    const path = join(dir, KEY_FILE_NAME);
    const ring = createKeyRingFile(path, T0);
    expect(() => retireKek(path, ring.currentKekId, T1)).toThrow(InvalidInputError);
    expect(() => retireKek(path, 'kek-nope', T1)).toThrow(InvalidInputError);
    expect(readKeyRingFile(path).kek(ring.currentKekId)?.key).toBeDefined();
  });

  it('refuses to run while another key operation holds the lock', () => {
    const path = join(dir, KEY_FILE_NAME);
    const ring = createKeyRingFile(path, T0);
    writeFileSync(`${path}.lock`, '');
    expect(() => rotateKek(path, T1)).toThrow(ConflictError);
    expect(readKeyRingFile(path).kekIds).toEqual([ring.currentKekId]);
  });
});

describe('ring identity', () => {
  it('a file without ringId (written before ring ids) gets a stable id derived from its index key, kept by rotation', () => {
    const path = join(dir, KEY_FILE_NAME);
    const { ringId: _dropped, ...legacy } = newKeyRingDocument(T0);
    writeDoc(path, legacy);
    const first = readKeyRingFile(path);
    expect(first.ringId).toMatch(/^ring-[0-9a-f]{16}$/);
    expect(readKeyRingFile(path).ringId).toBe(first.ringId);
    // Another ring derives another id.
    const { ringId: _other, ...otherLegacy } = newKeyRingDocument(T0);
    expect(parseKeyRingDocument(otherLegacy, 'x').ringId).not.toBe(first.ringId);
    const rotated = rotateKek(path, T1);
    expect(rotated.ringId).toBe(first.ringId);
    expect((JSON.parse(readFileSync(path, 'utf8')) as KeyRingDocument).ringId).toBe(first.ringId);
  });

  it('refuses a malformed ringId', () => {
    expectConfigError(() => parseKeyRingDocument({ ...newKeyRingDocument(T0), ringId: 'has space' }, 'src'), 'src', '"ringId"');
  });
});

describe('rotateKeyRingFile', () => {
  it('adds a KEK, lets the caller move keys, then retires the old KEKs, all under the lock', async () => {
    const path = join(dir, KEY_FILE_NAME);
    const first = createKeyRingFile(path, T0);
    const result = await rotateKeyRingFile(path, () => T1, async ({ ring, retiring }) => {
      expect(retiring).toEqual([first.currentKekId]);
      expect(ring.currentKekId).not.toBe(first.currentKekId);
      expect(existsSync(`${path}.lock`)).toBe(true);
      expect(() => rotateKek(path, T1)).toThrow(ConflictError);
      return new Set([ring.currentKekId]);
    });
    expect(result.retired).toEqual([first.currentKekId]);
    expect(readKeyRingFile(path).kek(first.currentKekId)?.key).toBeUndefined();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('destroys nothing while a data key still needs an old KEK', async () => {
    const path = join(dir, KEY_FILE_NAME);
    const first = createKeyRingFile(path, T0);
    await expect(rotateKeyRingFile(path, () => T1, async () => new Set([first.currentKekId]))).rejects.toThrow(/still wrapped under/);
    expect(readKeyRingFile(path).kek(first.currentKekId)?.key).toBeDefined();
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});
