/**
 * The key ring: key-encryption keys (KEKs) that wrap each customer's data key, and the
 * blind-index key. Read from the environment or from a key file under the key directory
 * (created on first start); rotated and retired by `custos keys rotate` / `retire`.
 *
 * Key file / CUSTOS_KEYRING document (version 1):
 *   {
 *     "version": 1,
 *     "ringId": "ring-5d0c1e2f3a4b5c6d",     // which ring this is; never changes, rotation included
 *     "currentKek": "kek-20260131-9f3a1c2b",
 *     "keks": [
 *       { "id": "kek-20260131-9f3a1c2b", "key": "<base64, 32 bytes>", "createdAt": "2026-01-31T09:00:00.000Z" },
 *       { "id": "kek-20250101-0b1c2d3e", "createdAt": "…", "retiredAt": "…" }   // retired: material destroyed
 *     ],
 *     "indexKey": "<base64, 32 bytes>"
 *   }
 * A KEK entry holds `key` while live and only `retiredAt` once retired; the tombstone stays so
 * a data key still wrapped under it fails with a clear message instead of "unknown key".
 *
 * `ringId` names the ring so a store can tell its own key ring from another (the store records
 * it on first use). Files written before it existed have none: their id is derived from the
 * index key, which no rotation changes, so it is the same on every load and is written into
 * the file at the next rotation.
 */
import { closeSync, constants, existsSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, fchmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { ConfigError, ConflictError, IntegrityError, InvalidInputError } from '../errors.ts';
import { requirePrivateMode } from '../key-file-mode.ts';

export const KEY_FILE_NAME = 'custos-keys.json';
/**
 * Holds the whole key-ring document, either as JSON (first non-blank character `{`) or as
 * standard base64 of that JSON (easier to carry in secret stores that mangle newlines/quotes).
 * When set, it wins over any key file and no file is ever created.
 */
export const KEYRING_ENV = 'CUSTOS_KEYRING';

export const KEY_BYTES = 32;
const KEK_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const RING_ID_RE = KEK_ID_RE;
// Exactly 32 bytes in standard, padded base64; Buffer.from(…, 'base64') alone accepts junk.
const KEY_B64_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DOC_KEYS = ['version', 'ringId', 'currentKek', 'keks', 'indexKey'];
const KEK_KEYS = ['id', 'key', 'createdAt', 'retiredAt'];

export interface KekEntryDocument {
  id: string;
  /** base64 of 32 bytes; absent once retired. */
  key?: string;
  createdAt: string;
  retiredAt?: string;
}

export interface KeyRingDocument {
  version: 1;
  ringId: string;
  currentKek: string;
  keks: KekEntryDocument[];
  indexKey: string;
}

/** One KEK as held in memory; `key` is undefined once retired (material destroyed). */
export interface Kek {
  readonly id: string;
  readonly key: KeyObject | undefined;
  readonly createdAt: string;
  readonly retiredAt: string | undefined;
}

export type KeyRingSource = { kind: 'file'; path: string } | { kind: 'env'; variable: string };

/**
 * The loaded key ring, immutable: rotation yields a new one. Key material is held as
 * KeyObjects, which neither JSON.stringify nor a logger can print; toJSON shows ids only.
 */
export class KeyRing {
  readonly ringId: string;
  readonly currentKekId: string;
  readonly indexKey: KeyObject;
  readonly source: KeyRingSource;
  readonly #keks: ReadonlyMap<string, Kek>;

  constructor(doc: KeyRingDocument, source: KeyRingSource) {
    this.ringId = doc.ringId;
    this.currentKekId = doc.currentKek;
    this.indexKey = createSecretKey(Buffer.from(doc.indexKey, 'base64'));
    this.source = source;
    this.#keks = new Map(
      doc.keks.map((k) => [
        k.id,
        { id: k.id, key: k.key !== undefined ? createSecretKey(Buffer.from(k.key, 'base64')) : undefined, createdAt: k.createdAt, retiredAt: k.retiredAt },
      ]),
    );
  }

  kek(id: string): Kek | undefined {
    return this.#keks.get(id);
  }

  get current(): Kek & { key: KeyObject } {
    // parseKeyRingDocument guarantees the current KEK exists and is live.
    return this.#keks.get(this.currentKekId) as Kek & { key: KeyObject };
  }

  get kekIds(): string[] {
    return [...this.#keks.keys()];
  }

  toJSON(): Record<string, unknown> {
    return {
      ringId: this.ringId,
      currentKekId: this.currentKekId,
      keks: [...this.#keks.values()].map((k) => ({ id: k.id, createdAt: k.createdAt, ...(k.retiredAt ? { retiredAt: k.retiredAt } : {}) })),
      source: this.source,
    };
  }

  [inspect.custom](): string {
    return `KeyRing ${JSON.stringify(this.toJSON())}`;
  }
}

// ---------------------------------------------------------------- parsing

function fail(source: string, field: string, message: string): never {
  throw new ConfigError(`${source}: field "${field}": ${message}`, { source, field });
}

function checkTimeField(source: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || !RFC3339_RE.test(v) || Number.isNaN(Date.parse(v))) fail(source, field, 'must be an RFC 3339 date-time');
  return v;
}

function checkKeyField(source: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || !KEY_B64_RE.test(v)) fail(source, field, `must be standard base64 of exactly ${KEY_BYTES} bytes`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check every field of a key-ring document; errors name the field (never its value: they are keys). */
export function parseKeyRingDocument(raw: unknown, source: string): KeyRingDocument {
  if (!isObject(raw)) throw new ConfigError(`${source}: expected a JSON object`, { source });
  for (const k of Object.keys(raw)) if (!DOC_KEYS.includes(k)) fail(source, k, 'is not a key-ring field (expected version, ringId, currentKek, keks, indexKey)');
  if (raw.version !== 1) fail(source, 'version', 'must be 1');
  if (raw.ringId !== undefined && (typeof raw.ringId !== 'string' || !RING_ID_RE.test(raw.ringId))) fail(source, 'ringId', 'must be 1-64 characters of letters, digits and . _ -');
  if (!Array.isArray(raw.keks) || raw.keks.length === 0) fail(source, 'keks', 'must be a non-empty array');
  const keks: KekEntryDocument[] = [];
  const seen = new Set<string>();
  raw.keks.forEach((e: unknown, i: number) => {
    const at = `keks[${i}]`;
    if (!isObject(e)) fail(source, at, 'must be an object');
    for (const k of Object.keys(e)) if (!KEK_KEYS.includes(k)) fail(source, `${at}.${k}`, 'is not a KEK field (expected id, key, createdAt, retiredAt)');
    if (typeof e.id !== 'string' || !KEK_ID_RE.test(e.id)) fail(source, `${at}.id`, 'must be 1-64 characters of letters, digits and . _ -');
    if (seen.has(e.id)) fail(source, `${at}.id`, `duplicates KEK id "${e.id}"`);
    seen.add(e.id);
    const createdAt = checkTimeField(source, `${at}.createdAt`, e.createdAt);
    if (e.retiredAt !== undefined) {
      const retiredAt = checkTimeField(source, `${at}.retiredAt`, e.retiredAt);
      // Retiring destroys the material; a "retired" entry still holding it would be a lie.
      if (e.key !== undefined) fail(source, `${at}.key`, 'must be absent once the KEK is retired');
      keks.push({ id: e.id, createdAt, retiredAt });
    } else {
      keks.push({ id: e.id, key: checkKeyField(source, `${at}.key`, e.key), createdAt });
    }
  });
  if (typeof raw.currentKek !== 'string' || raw.currentKek === '') fail(source, 'currentKek', 'must name a KEK id');
  const current = keks.find((k) => k.id === raw.currentKek);
  if (!current) fail(source, 'currentKek', `names "${raw.currentKek}", which is not in keks`);
  if (current.key === undefined) fail(source, 'currentKek', `names "${raw.currentKek}", which is retired`);
  const indexKey = checkKeyField(source, 'indexKey', raw.indexKey);
  // One key, one purpose: an HMAC key equal to a KEK is a hand-edit gone wrong.
  if (keks.some((k) => k.key === indexKey)) fail(source, 'indexKey', 'must differ from every KEK');
  const ringId = typeof raw.ringId === 'string' ? raw.ringId : derivedRingId(indexKey);
  return { version: 1, ringId, currentKek: current.id, keks, indexKey };
}

/**
 * The id of a ring written before ring ids existed: stable (the index key never changes) and
 * revealing nothing of the key (an HMAC output under it, for a fixed label).
 */
function derivedRingId(indexKeyB64: string): string {
  return `ring-${createHmac('sha256', Buffer.from(indexKeyB64, 'base64')).update('custos.ring-id').digest('hex').slice(0, 16)}`;
}

// ---------------------------------------------------------------- documents (pure)

function newKekId(now: Date, taken: ReadonlySet<string>): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  for (;;) {
    const id = `kek-${day}-${randomBytes(4).toString('hex')}`;
    if (!taken.has(id)) return id;
  }
}

function newKeyB64(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** A fresh key ring: a new ring id, one KEK, current, and an index key. */
export function newKeyRingDocument(now: Date): KeyRingDocument {
  const id = newKekId(now, new Set());
  return {
    version: 1,
    ringId: `ring-${randomBytes(8).toString('hex')}`,
    currentKek: id,
    keks: [{ id, key: newKeyB64(), createdAt: now.toISOString() }],
    indexKey: newKeyB64(),
  };
}

/** The document with a new current KEK; older KEKs stay until every data key is re-wrapped. The index key never changes. */
export function withNewKek(doc: KeyRingDocument, now: Date): KeyRingDocument {
  const id = newKekId(now, new Set(doc.keks.map((k) => k.id)));
  return { ...doc, currentKek: id, keks: [...doc.keks, { id, key: newKeyB64(), createdAt: now.toISOString() }] };
}

/**
 * The document with one KEK's material removed (its entry kept as a tombstone). Only safe once
 * a full re-wrap pass has moved every data key off it: anything still wrapped under it is lost
 * for good, exactly as if the customer had been shredded.
 */
export function withKekRetired(doc: KeyRingDocument, kekId: string, now: Date): KeyRingDocument {
  const entry = doc.keks.find((k) => k.id === kekId);
  if (!entry) throw new InvalidInputError(`no KEK "${kekId}" in the key ring (it has ${doc.keks.map((k) => k.id).join(', ')})`, { field: 'kekId' });
  if (kekId === doc.currentKek) throw new InvalidInputError(`KEK "${kekId}" is current; rotate first, re-wrap, then retire it`, { field: 'kekId' });
  if (entry.retiredAt !== undefined) return doc;
  return { ...doc, keks: doc.keks.map((k) => (k.id === kekId ? { id: k.id, createdAt: k.createdAt, retiredAt: now.toISOString() } : k)) };
}

// ---------------------------------------------------------------- env

type Env = Record<string, string | undefined>;

export function keyRingFromEnv(value: string, variable = KEYRING_ENV): KeyRing {
  const text = value.trim();
  if (text === '') throw new ConfigError(`${variable} is set but empty; unset it to use a key file`, { field: variable });
  let json = text;
  if (!text.startsWith('{')) {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) throw new ConfigError(`${variable} must hold the key-ring JSON or standard base64 of it`, { field: variable });
    json = Buffer.from(text, 'base64').toString('utf8');
  }
  return new KeyRing(parseKeyRingDocument(parseJson(json, variable), variable), { kind: 'env', variable });
}

// V8's SyntaxError quotes a slice of the input, and the input is key material: never pass it on.
function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`${source}: not valid JSON`, { source });
  }
}

// ---------------------------------------------------------------- files

function readDocument(path: string): KeyRingDocument {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    throw new ConfigError(`${path}: cannot open the key file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { source: path });
  }
  try {
    // Check the descriptor we read, not the path, so a swap between stat and read cannot slip by.
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`${path}: not a regular file`, { source: path });
    requirePrivateMode(path, st.mode);
    return parseKeyRingDocument(parseJson(readFileSync(fd, 'utf8'), path), path);
  } finally {
    closeSync(fd);
  }
}

/** Read a key file; ConfigError if missing, unreadable, too open, or malformed. */
export function readKeyRingFile(path: string): KeyRing {
  return new KeyRing(readDocument(path), { kind: 'file', path });
}

function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write the document to a fresh 0600 temp file beside `path`, durably; returns the temp path. */
function writeTemp(path: string, doc: KeyRingDocument): string {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // the umask may have narrowed it oddly; be exact
    writeSync(fd, `${JSON.stringify(doc, null, 2)}\n`);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  return tmp;
}

function replaceFile(path: string, doc: KeyRingDocument): void {
  const tmp = writeTemp(path, doc);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  fsyncDir(dirname(path));
}

/**
 * Create a new key file at `path` (directory 0700 if created, file 0600). Atomic and exclusive:
 * written to a temp file then hard-linked into place, so two processes starting at once end up
 * with one key ring. ConflictError if the file already exists.
 */
export function createKeyRingFile(path: string, now: Date): KeyRing {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const doc = newKeyRingDocument(now);
  const tmp = writeTemp(path, doc);
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`${path}: a key file already exists`, { source: path });
    throw err;
  } finally {
    unlinkSync(tmp);
  }
  fsyncDir(dirname(path));
  return new KeyRing(doc, { kind: 'file', path });
}

/** Where the key ring's file lives in a key directory. */
export function keyRingPath(dir: string): string {
  return join(dir, KEY_FILE_NAME);
}

/**
 * The key ring for this process: from CUSTOS_KEYRING when set (no file is touched), else from
 * `<dir>/custos-keys.json`; undefined when there is neither. Never creates one: a new ring is
 * made only for an empty store, or by `custos keys init` (createKeyRingFile).
 */
export function findKeyRing(opts: { dir: string; env?: Env }): KeyRing | undefined {
  const env = opts.env ?? process.env;
  const fromEnv = env[KEYRING_ENV];
  if (fromEnv !== undefined) return keyRingFromEnv(fromEnv);
  const path = keyRingPath(opts.dir);
  return existsSync(path) ? readKeyRingFile(path) : undefined;
}

/**
 * Serialise read-modify-write of the key file: two rotations racing would each add a KEK and
 * the later rename would silently drop the other's, losing every data key wrapped under it.
 * Returns the release.
 */
function lockKeyFile(path: string): () => void {
  const lock = `${path}.lock`;
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConflictError(`${lock} exists: another key operation is running (remove the lock file only if none is)`, { source: lock });
    }
    throw err;
  }
  return () => {
    closeSync(fd);
    unlinkSync(lock);
  };
}

function changeLocked(path: string, change: (doc: KeyRingDocument) => KeyRingDocument): KeyRing {
  const before = readDocument(path);
  const after = change(before);
  if (after !== before) replaceFile(path, after);
  return new KeyRing(after, { kind: 'file', path });
}

function updateKeyRingFile(path: string, change: (doc: KeyRingDocument) => KeyRingDocument): KeyRing {
  const release = lockKeyFile(path);
  try {
    return changeLocked(path, change);
  } finally {
    release();
  }
}

/** Add a new KEK and make it current (one step of rotateKeyRingFile, for tests and tools). */
export function rotateKek(keyFilePath: string, now: Date): KeyRing {
  return updateKeyRingFile(keyFilePath, (doc) => withNewKek(doc, now));
}

/**
 * Destroy an old KEK's material (see withKekRetired). Call only after a complete re-wrap pass
 * left no data key under `kekId` (wrappedKekId tells which KEK wraps a key): anything still
 * wrapped under it becomes unreadable, for good. Idempotent.
 */
export function retireKek(keyFilePath: string, kekId: string, now: Date): KeyRing {
  return updateKeyRingFile(keyFilePath, (doc) => withKekRetired(doc, kekId, now));
}

export interface KekRotation {
  /** The ring with the new KEK current; the KEKs being retired are still live in it. */
  ring: KeyRing;
  /** Live KEKs other than the new one: retired at the end unless a data key still needs one. */
  retiring: string[];
}

/**
 * A whole KEK rotation, holding the key file's lock throughout so no other rotation interleaves:
 * add a new current KEK, let `relocate` move every data key onto it (it returns the KEK ids
 * data keys are still under), then destroy the material of every retiring KEK — refusing, with
 * nothing destroyed, if a data key still needs one.
 */
export async function rotateKeyRingFile(
  path: string,
  now: () => Date,
  relocate: (rotation: KekRotation) => Promise<ReadonlySet<string>>,
): Promise<{ ring: KeyRing; retired: string[] }> {
  const release = lockKeyFile(path);
  try {
    const ring = changeLocked(path, (doc) => withNewKek(doc, now()));
    const retiring = ring.kekIds.filter((id) => id !== ring.currentKekId && ring.kek(id)?.key !== undefined);
    const stillUsed = await relocate({ ring, retiring });
    const needed = retiring.filter((id) => stillUsed.has(id));
    if (needed.length > 0) {
      throw new IntegrityError(`data keys are still wrapped under ${needed.join(', ')} after the re-wrap pass; no KEK was retired — run the rotation again`, {
        kekIds: needed,
      });
    }
    const retired = changeLocked(path, (doc) => retiring.reduce((d, id) => withKekRetired(d, id, now()), doc));
    return { ring: retired, retired: retiring };
  } finally {
    release();
  }
}
