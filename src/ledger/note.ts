/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys, interoperable with Go's
 * golang.org/x/mod/sumdb/note: the same key strings, the same bytes signed, the same parsing.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { IntegrityError, InvalidInputError } from '../errors.ts';

/** C2SP signed-note "Signature types": 0x01 is Ed25519. */
const ED25519_TYPE = 0x01;
const ED25519_KEY_SIZE = 32;
const ED25519_SIGNATURE_SIZE = 64;
// DER framing that turns a raw 32-byte seed / public key into PKCS#8 / SPKI (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const SIGNATURE_LINE_PREFIX = '\u2014 ';
/** C2SP: verifiers MUST accept at least 16 signatures; like Go, refuse beyond 100 to bound work. */
export const MAX_NOTE_SIGNATURES = 100;

export interface NoteSigner {
  readonly name: string;
  /** The 32-bit key ID, big-endian first four bytes of the key hash. */
  readonly keyId: number;
  sign(message: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** base64(keyId || signature) exactly as on the signature line. */
  base64: string;
}

export interface OpenedNote {
  /** The signed text, ending in a newline. */
  text: string;
  /** Signatures by known keys, all of which verified. */
  signatures: NoteSignature[];
  /** Signatures by keys not among the verifiers; ignored as the spec requires. */
  unverifiedSignatures: NoteSignature[];
}

/** C2SP signed-note: key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian. */
export function ed25519KeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256').update(name, 'utf8').update(Buffer.of(0x0a, ED25519_TYPE)).update(publicKey).digest();
  return digest.readUInt32BE(0);
}

/** `name+keyid+base64(0x01 || public key)`, the verifier key string Go's note.NewVerifier reads. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  requireKeyName(name);
  requireLength('public key', publicKey, ED25519_KEY_SIZE);
  return `${name}+${hex8(ed25519KeyId(name, publicKey))}+${Buffer.concat([Buffer.of(ED25519_TYPE), publicKey]).toString('base64')}`;
}

/** `PRIVATE+KEY+name+keyid+base64(0x01 || seed)`, the signer key string Go's note.NewSigner reads. */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  requireKeyName(name);
  requireLength('seed', seed, ED25519_KEY_SIZE);
  const keyId = ed25519KeyId(name, ed25519PublicKey(privateKeyFromSeed(seed)));
  return `PRIVATE+KEY+${name}+${hex8(keyId)}+${Buffer.concat([Buffer.of(ED25519_TYPE), seed]).toString('base64')}`;
}

/** A fresh Ed25519 key named `name`, as signer and verifier key strings. */
export function generateNoteKey(name: string): { signerKey: string; verifierKey: string } {
  const seed = randomBytes(ED25519_KEY_SIZE);
  const signerKey = formatSignerKey(name, seed);
  return { signerKey, verifierKey: parseSignerKey(signerKey).verifierKey };
}

/** A signer for an Ed25519 seed under `name`. */
export function ed25519Signer(name: string, seed: Uint8Array): NoteSigner & { readonly verifierKey: string } {
  requireKeyName(name);
  requireLength('seed', seed, ED25519_KEY_SIZE);
  const privateKey = privateKeyFromSeed(seed);
  const publicKey = ed25519PublicKey(privateKey);
  return {
    name,
    keyId: ed25519KeyId(name, publicKey),
    verifierKey: formatVerifierKey(name, publicKey),
    // Ed25519 takes no separate digest: the algorithm argument must be null.
    sign: (message) => sign(null, message, privateKey),
  };
}

/** Parses a verifier key string; InvalidInputError says what is wrong with it. */
export function parseVerifierKey(verifierKey: string): NoteVerifier {
  // Split on the first two '+' only: the base64 key itself may contain '+' (Go uses strings.Cut twice).
  const [name, idHex, keyBase64] = cutTwice(verifierKey, 'verifier key');
  requireKeyName(name);
  const keyId = parseKeyId(idHex, 'verifier key');
  const typedKey = decodeBase64Strict(keyBase64, 'verifier key');
  if (typedKey[0] !== ED25519_TYPE || typedKey.length !== 1 + ED25519_KEY_SIZE) {
    throw new InvalidInputError(`verifier key for "${name}" is not an Ed25519 key (type 0x01 and 32 bytes)`);
  }
  const publicKeyBytes = typedKey.subarray(1);
  if (ed25519KeyId(name, publicKeyBytes) !== keyId) throw new InvalidInputError(`verifier key for "${name}": key ID ${idHex} does not match the key`);
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKeyBytes]), format: 'der', type: 'spki' });
  return {
    name,
    keyId,
    verify: (message, signature) => signature.length === ED25519_SIGNATURE_SIZE && verify(null, message, publicKey, signature),
  };
}

/** Parses a signer key string (`PRIVATE+KEY+…`), checking that its key ID matches the seed. */
export function parseSignerKey(signerKey: string): NoteSigner & { readonly verifierKey: string } {
  const prefix = 'PRIVATE+KEY+';
  if (!signerKey.startsWith(prefix)) throw new InvalidInputError('signer key must start with PRIVATE+KEY+');
  const [name, idHex, keyBase64] = cutTwice(signerKey.slice(prefix.length), 'signer key');
  requireKeyName(name);
  const keyId = parseKeyId(idHex, 'signer key');
  const typedSeed = decodeBase64Strict(keyBase64, 'signer key');
  if (typedSeed[0] !== ED25519_TYPE || typedSeed.length !== 1 + ED25519_KEY_SIZE) {
    throw new InvalidInputError(`signer key for "${name}" is not an Ed25519 key (type 0x01 and 32 bytes)`);
  }
  const signer = ed25519Signer(name, typedSeed.subarray(1));
  if (signer.keyId !== keyId) throw new InvalidInputError(`signer key for "${name}": key ID ${idHex} does not match the key`);
  return signer;
}

/** Signs `text` (which must end in a newline) with each signer, in order: text, blank line, signature lines. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (signers.length === 0) throw new InvalidInputError('a note needs at least one signer');
  requireNoteText(text);
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((signer) => {
    requireKeyName(signer.name);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(signer.keyId);
    const signature = Buffer.concat([header, signer.sign(message)]).toString('base64');
    return `${SIGNATURE_LINE_PREFIX}${signer.name} ${signature}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Opens a signed note: every signature by a known key must verify, signatures by unknown keys
 * are ignored, and at least one known key must have signed (C2SP signed-note "Signatures").
 * Malformed notes throw InvalidInputError; signature failures throw IntegrityError.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const message = typeof note === 'string' ? note : decodeUtf8Strict(note);
  const known = indexVerifiers(verifiers);
  // C2SP: valid UTF-8, no ASCII control characters other than newline.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(message) || /\p{Surrogate}/u.test(message)) {
    throw new InvalidInputError('malformed note: control characters or invalid Unicode');
  }
  // The text is separated from the signatures by the last blank line.
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw new InvalidInputError('malformed note: no blank line before the signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw new InvalidInputError('malformed note: signature lines must end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw new InvalidInputError(`malformed note: more than ${MAX_NOTE_SIGNATURES} signatures`);

  const textBytes = Buffer.from(text, 'utf8');
  const signatures: NoteSignature[] = [];
  const unverifiedSignatures: NoteSignature[] = [];
  const seenKnown = new Set<string>();
  const seenUnknown = new Set<string>();
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_LINE_PREFIX)) throw new InvalidInputError('malformed note: a signature line must start with an em dash and a space');
    const rest = line.slice(SIGNATURE_LINE_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const base64 = space < 0 ? '' : rest.slice(space + 1);
    if (!isValidKeyName(name) || base64 === '') throw new InvalidInputError('malformed note: bad signature line');
    const raw = decodeBase64Strict(base64, 'note signature');
    if (raw.length < 5) throw new InvalidInputError('malformed note: signature too short');
    const keyId = raw.readUInt32BE(0);
    const signature: NoteSignature = { name, keyId, base64 };
    const verifier = known.get(keyRef(name, keyId));
    if (!verifier) {
      if (!seenUnknown.has(line)) unverifiedSignatures.push(signature);
      seenUnknown.add(line);
      continue;
    }
    // As Go's note.Open: later signatures by a key already seen are dropped unchecked.
    if (seenKnown.has(keyRef(name, keyId))) continue;
    seenKnown.add(keyRef(name, keyId));
    if (!verifier.verify(textBytes, raw.subarray(4))) throw new IntegrityError(`invalid note signature by key ${name}+${hex8(keyId)}`);
    signatures.push(signature);
  }
  if (signatures.length === 0) throw new IntegrityError('note has no signature by a known key');
  return { text, signatures, unverifiedSignatures };
}

/** C2SP signed-note: key names are non-empty, without Unicode spaces or '+'. */
export function isValidKeyName(name: string): boolean {
  // \s covers Unicode White_Space except U+0085, which Go's unicode.IsSpace also rejects.
  return name !== '' && !/[\s\u0085+]/u.test(name) && !/\p{Surrogate}/u.test(name);
}

export function requireKeyName(name: string): void {
  if (!isValidKeyName(name)) throw new InvalidInputError(`key name "${name}" must be non-empty, without spaces or '+'`);
}

/** Standard base64 with padding, rejecting anything Buffer.from would silently skip or reinterpret. */
export function decodeBase64Strict(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || bytes.toString('base64') !== text) {
    throw new InvalidInputError(`${what} is not valid base64`);
  }
  return bytes;
}

function requireNoteText(text: string): void {
  if (!text.endsWith('\n')) throw new InvalidInputError('note text must end in a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text) || /\p{Surrogate}/u.test(text)) {
    throw new InvalidInputError('note text must be valid Unicode without control characters other than newline');
  }
}

function indexVerifiers(verifiers: readonly NoteVerifier[]): Map<string, NoteVerifier> {
  const known = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const ref = keyRef(v.name, v.keyId);
    // Two keys under one name and ID cannot be told apart on a signature line (Go: ambiguousVerifierError).
    if (known.has(ref)) throw new InvalidInputError(`two verifier keys share the name and key ID ${v.name}+${hex8(v.keyId)}`);
    known.set(ref, v);
  }
  return known;
}

function keyRef(name: string, keyId: number): string {
  return `${name}+${hex8(keyId)}`;
}

function cutTwice(text: string, what: string): [string, string, string] {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw new InvalidInputError(`${what} must look like name+keyid+key`);
  return [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
}

function parseKeyId(idHex: string, what: string): number {
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw new InvalidInputError(`${what}: key ID must be 8 hex digits, got "${idHex}"`);
  return Number.parseInt(idHex, 16);
}

function hex8(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function ed25519PublicKey(privateKey: KeyObject): Buffer {
  return createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
}

function requireLength(what: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new InvalidInputError(`${what} must be ${length} bytes, got ${bytes.length}`);
}

function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    // ignoreBOM keeps a leading U+FEFF in the text, so the bytes verified are the bytes given.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new InvalidInputError('malformed note: not valid UTF-8');
  }
}
