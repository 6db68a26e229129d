/**
 * C2SP tlog-checkpoint v1.0.0 (https://c2sp.org/tlog-checkpoint): the signed tree head, a
 * signed note whose text is `origin\nsize\nbase64(root)\n` plus optional extension lines.
 */
import { InvalidInputError, IntegrityError } from '../errors.ts';
import { HASH_SIZE, requireTreeSize } from './merkle.ts';
import { decodeBase64Strict, openNote, signNote, type NoteSignature, type NoteSigner, type NoteVerifier } from './note.ts';

export interface Checkpoint {
  /** Identifies the log; for Custos logs also the signing key's name. */
  origin: string;
  size: number;
  root: Uint8Array;
  /** Opaque extra lines after the root; NOT RECOMMENDED by the spec, kept so foreign checkpoints parse. */
  extensions: string[];
}

export interface OpenedCheckpoint {
  checkpoint: Checkpoint;
  /** Signatures by known keys, all verified. */
  signatures: NoteSignature[];
}

/** The checkpoint body (the note text). Throws InvalidInputError for an unrepresentable checkpoint. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions } = checkpoint;
  if (origin === '' || origin.includes('\n')) throw new InvalidInputError('checkpoint origin must be a non-empty single line', { field: 'origin' });
  requireTreeSize('size', size);
  if (root.length !== HASH_SIZE) throw new InvalidInputError(`checkpoint root must be ${HASH_SIZE} bytes`, { field: 'root' });
  for (const line of extensions) {
    if (line === '' || line.includes('\n')) throw new InvalidInputError('checkpoint extension lines must be non-empty single lines', { field: 'extensions' });
  }
  return [origin, String(size), Buffer.from(root).toString('base64'), ...extensions].join('\n') + '\n';
}

/** Parses a checkpoint body strictly; InvalidInputError names the line at fault. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new InvalidInputError('checkpoint text must end in a newline');
  const [origin, sizeLine, rootLine, ...extensions] = text.slice(0, -1).split('\n');
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    throw new InvalidInputError('checkpoint needs at least three lines: origin, size, root');
  }
  if (origin === '') throw new InvalidInputError('checkpoint line 1: origin must not be empty', { line: 1 });
  // tlog-checkpoint "Note text": ASCII decimal, no leading zeroes unless the tree is empty.
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw new InvalidInputError(`checkpoint line 2: "${sizeLine}" is not a tree size`, { line: 2 });
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new InvalidInputError(`checkpoint line 2: tree size ${sizeLine} is too large`, { line: 2 });
  let root: Buffer;
  try {
    root = decodeBase64Strict(rootLine, 'checkpoint root');
  } catch {
    throw new InvalidInputError('checkpoint line 3: root is not valid base64', { line: 3 });
  }
  if (root.length !== HASH_SIZE) throw new InvalidInputError(`checkpoint line 3: root must be ${HASH_SIZE} bytes, got ${root.length}`, { line: 3 });
  extensions.forEach((line, i) => {
    if (line === '') throw new InvalidInputError(`checkpoint line ${i + 4}: extension lines must not be empty`, { line: i + 4 });
  });
  return { origin, size, root, extensions };
}

/** Signs a checkpoint. The key name must equal the origin, as tlog-checkpoint "Signatures" recommends. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  if (signer.name !== checkpoint.origin) {
    throw new InvalidInputError(`checkpoint origin "${checkpoint.origin}" differs from the signing key's name "${signer.name}"`);
  }
  return signNote(formatCheckpoint(checkpoint), [signer]);
}

/** Opens any C2SP checkpoint: at least one known key signed it; the origin is not tied to the key name. */
export function openCheckpoint(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedCheckpoint {
  const opened = openNote(note, verifiers);
  return { checkpoint: parseCheckpoint(opened.text), signatures: opened.signatures };
}

/**
 * Opens a checkpoint of a Custos log: as openCheckpoint, and a key named like the origin must be
 * among the signers, so a key trusted for another log cannot vouch for this one.
 */
export function openLedgerCheckpoint(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): Checkpoint {
  const { checkpoint, signatures } = openCheckpoint(note, verifiers);
  if (!signatures.some((s) => s.name === checkpoint.origin)) {
    throw new IntegrityError(`checkpoint for "${checkpoint.origin}" is not signed by a known key of that name`);
  }
  return checkpoint;
}
