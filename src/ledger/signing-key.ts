/**
 * The ledger signing key file: the log's origin and its Ed25519 keys, newest last. The newest
 * key that is not retired signs checkpoints; retired keys stay listed because checkpoints they
 * signed must keep verifying.
 *
 * Format (JSON, mode 0600):
 *   { "version": 1, "origin": "custos/1a2b3c4d",
 *     "keys": [ { "seed": "<base64, 32 bytes>", "createdAt": "<RFC 3339>", "retiredAt": "<RFC 3339>" }, … ] }
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { requirePrivateMode } from '../key-file-mode.ts';
import { ed25519Signer, isValidKeyName, type NoteSigner } from './note.ts';

export const SIGNING_KEY_FILE = 'ledger-signing.json';
const FORMAT_VERSION = 1;
const SEED_SIZE = 32;

export interface SigningKeyRecord {
  seed: Uint8Array;
  createdAt: string;
  retiredAt?: string;
}

export interface LedgerSigningKeys {
  path: string;
  /** The checkpoint origin line, which is also every key's name. */
  origin: string;
  /** Oldest first. */
  keys: readonly SigningKeyRecord[];
  /** The newest key that is not retired. */
  signer(): NoteSigner;
  /** Verifier key strings of every key, retired ones included. */
  verifierKeys(): string[];
}

export interface SigningKeyOptions {
  /** Origin for a new file; for an existing file it must match the one recorded there. */
  origin?: string;
  now: () => Date;
  /**
   * Whether a missing file may be created: not when the log already has entries, whose
   * checkpoints a new key and origin would not continue (the file was lost or misplaced).
   */
  mayCreate?: () => Promise<boolean>;
}

/**
 * Loads `<dir>/ledger-signing.json`, creating it (and `dir`) with a fresh key when absent.
 * A configured origin must match the file's: changing it would orphan every signed checkpoint.
 */
export async function loadOrCreateSigningKeys(dir: string, options: SigningKeyOptions): Promise<LedgerSigningKeys> {
  const path = join(dir, SIGNING_KEY_FILE);
  if (options.origin !== undefined) requireOrigin(options.origin, 'the configured ledger origin');
  let keys: LedgerSigningKeys;
  if (await exists(path)) {
    keys = await loadSigningKeys(path);
  } else {
    if (options.mayCreate && !(await options.mayCreate())) {
      throw new ConfigError(`${path}: no ledger signing key file, but the ledger already holds entries; restore the file (its origin names this log) or point --data/CUSTOS_KEY_DIR at it`, {
        source: path,
      });
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const origin = options.origin ?? `custos/${randomBytes(4).toString('hex')}`;
    const created = await createExclusive(path, { origin, keys: [newKey(options.now())] });
    // Another process may have won the race to create it; theirs is the file.
    keys = created ? toSigningKeys(path, created) : await loadSigningKeys(path);
  }
  if (options.origin !== undefined && options.origin !== keys.origin) {
    throw new ConfigError(`${path}: the ledger origin is "${keys.origin}", not the configured "${options.origin}"; the origin of an existing log cannot change`);
  }
  return keys;
}

/** Loads an existing key file. ConfigError names the file and the field at fault. */
export async function loadSigningKeys(path: string): Promise<LedgerSigningKeys> {
  await requirePrivateFile(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the ledger signing key file ${path}: ${(err as Error).message}`);
  }
  return toSigningKeys(path, parseKeyFile(path, text));
}

/** Adds a new signing key and retires the current ones; returns the updated keys. */
export async function rotateSigningKey(path: string, now: Date): Promise<LedgerSigningKeys> {
  const current = await loadSigningKeys(path);
  const retiredAt = now.toISOString();
  const file: KeyFile = {
    origin: current.origin,
    keys: [...current.keys.map((k) => (k.retiredAt ? k : { ...k, retiredAt })), newKey(now)],
  };
  await replaceAtomically(path, file);
  return toSigningKeys(path, file);
}

interface KeyFile {
  origin: string;
  keys: SigningKeyRecord[];
}

function newKey(now: Date): SigningKeyRecord {
  return { seed: randomBytes(SEED_SIZE), createdAt: now.toISOString() };
}

function toSigningKeys(path: string, file: KeyFile): LedgerSigningKeys {
  const signers = file.keys.map((k) => ed25519Signer(file.origin, k.seed));
  const activeIndex = file.keys.findLastIndex((k) => k.retiredAt === undefined);
  return {
    path,
    origin: file.origin,
    keys: file.keys,
    signer: () => {
      const active = signers[activeIndex];
      if (!active) throw new ConfigError(`${path}: every ledger signing key is retired; rotate to add a new one`);
      return active;
    },
    verifierKeys: () => signers.map((s) => s.verifierKey),
  };
}

function parseKeyFile(path: string, text: string): KeyFile {
  const fail = (field: string, problem: string): never => {
    throw new ConfigError(`${path}: ${field} ${problem}`, { file: path, field });
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail('the file', `is not JSON (${(err as Error).message})`);
  }
  if (!isRecord(raw)) return fail('the file', 'must hold a JSON object');
  if (raw.version !== FORMAT_VERSION) fail('version', `must be ${FORMAT_VERSION}`);
  if (typeof raw.origin !== 'string' || !isValidKeyName(raw.origin)) fail('origin', 'must be a non-empty string without spaces or "+"');
  if (!Array.isArray(raw.keys) || raw.keys.length === 0) fail('keys', 'must be a non-empty array');
  const keys = (raw.keys as unknown[]).map((k, i): SigningKeyRecord => {
    if (!isRecord(k)) return fail(`keys[${i}]`, 'must be an object');
    const seed = typeof k.seed === 'string' ? Buffer.from(k.seed, 'base64') : undefined;
    if (!seed || seed.length !== SEED_SIZE || seed.toString('base64') !== k.seed) fail(`keys[${i}].seed`, `must be base64 of ${SEED_SIZE} bytes`);
    if (!isTimestamp(k.createdAt)) fail(`keys[${i}].createdAt`, 'must be an RFC 3339 timestamp');
    if (k.retiredAt !== undefined && !isTimestamp(k.retiredAt)) fail(`keys[${i}].retiredAt`, 'must be an RFC 3339 timestamp when present');
    return {
      seed: seed as Buffer,
      createdAt: k.createdAt as string,
      ...(k.retiredAt !== undefined ? { retiredAt: k.retiredAt as string } : {}),
    };
  });
  return { origin: raw.origin as string, keys };
}

function serialize(file: KeyFile): string {
  const keys = file.keys.map((k) => ({
    seed: Buffer.from(k.seed).toString('base64'),
    createdAt: k.createdAt,
    ...(k.retiredAt !== undefined ? { retiredAt: k.retiredAt } : {}),
  }));
  return `${JSON.stringify({ version: FORMAT_VERSION, origin: file.origin, keys }, null, 2)}\n`;
}

/** A private key readable by others can sign forged checkpoints (key-file-mode.ts). */
async function requirePrivateFile(path: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    throw new ConfigError(`cannot read the ledger signing key file ${path}: ${(err as Error).message}`);
  }
  requirePrivateMode(path, mode);
}

/** Writes a new file only if none exists, never exposing a half-written key (temp file + link). */
async function createExclusive(path: string, file: KeyFile): Promise<KeyFile | undefined> {
  const temp = await writeTemp(path, file);
  try {
    await link(temp, path);
    return file;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return undefined;
    // Some volumes (SMB, some container mounts) have no hard links: fall back to an exclusive create.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') return writeExclusive(path, file);
    throw new ConfigError(`cannot create the ledger signing key file ${path}: ${(err as Error).message}`);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function writeExclusive(path: string, file: KeyFile): Promise<KeyFile | undefined> {
  try {
    await writeFile(path, serialize(file), { mode: 0o600, flag: 'wx', flush: true });
    return file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new ConfigError(`cannot create the ledger signing key file ${path}: ${(err as Error).message}`);
  }
}

async function replaceAtomically(path: string, file: KeyFile): Promise<void> {
  const temp = await writeTemp(path, file);
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw new ConfigError(`cannot write the ledger signing key file ${path}: ${(err as Error).message}`);
  }
}

async function writeTemp(path: string, file: KeyFile): Promise<string> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, serialize(file), { mode: 0o600, flag: 'wx', flush: true });
    // The umask can only remove bits, but be explicit: the key must never be group/world readable.
    await chmod(temp, 0o600);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw new ConfigError(`cannot write the ledger signing key file ${path}: ${(err as Error).message}`);
  }
  return temp;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new ConfigError(`cannot read the ledger signing key file ${path}: ${(err as Error).message}`);
  }
}

function requireOrigin(origin: string, what: string): void {
  if (!isValidKeyName(origin)) throw new ConfigError(`${what} "${origin}" must be non-empty, without spaces or "+" (it is also the key name)`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTimestamp(v: unknown): boolean {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v));
}
