import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import {
  MAX_NOTE_SIGNATURES,
  ed25519KeyId,
  formatSignerKey,
  generateNoteKey,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteSigner,
} from './note.ts';
import {
  C2SP_NOTE,
  C2SP_VKEY,
  ENOCH_SIGNATURE_LINE,
  ENOCH_VKEY,
  GO_TEXT,
  PETER_SIGNATURE_LINE,
  PETER_SKEY,
  PETER_VKEY,
  SUMDB_VKEY,
} from './test-vectors.ts';

const peter = parseVerifierKey(PETER_VKEY);
const enoch = parseVerifierKey(ENOCH_VKEY);
const GO_NOTE = `${GO_TEXT}\n${PETER_SIGNATURE_LINE}${ENOCH_SIGNATURE_LINE}`;

describe('verifier and signer keys', () => {
  it.each([
    [C2SP_VKEY, 'example.com/foo', 0x530d903a],
    [PETER_VKEY, 'PeterNeumann', 0xc74f20a3],
    [ENOCH_VKEY, 'EnochRoot', 0xaf0cfe78],
    [SUMDB_VKEY, 'sum.golang.org', 0x033de0ae],
    ['Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs', 'Log', 0x2271c621],
    ['monkeys+db4d9f7e+AULaJMvTtDLHPUcUrjdDad9vDlh/PTfC2VV60JUtCfWT', 'monkeys', 0xdb4d9f7e],
  ])('parses %s and re-derives its key ID', (vkey, name, keyId) => {
    const verifier = parseVerifierKey(vkey);
    expect(verifier.name).toBe(name);
    expect(verifier.keyId).toBe(keyId);
  });

  it('splits a verifier key on the first two "+" only, since base64 may contain "+"', () => {
    expect(SUMDB_VKEY.split('+').length).toBeGreaterThan(3);
    expect(parseVerifierKey(SUMDB_VKEY).name).toBe('sum.golang.org');
  });

  it("derives Go's verifier key from Go's signer key and round-trips the signer key", () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(signer.verifierKey).toBe(PETER_VKEY);
    expect(signer.keyId).toBe(0xc74f20a3);
    const seed = Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1);
    expect(formatSignerKey('PeterNeumann', seed)).toBe(PETER_SKEY);
  });

  it.each([
    ['no key ID', 'PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['a wrong key ID', PETER_VKEY.replace('c74f20a3', 'c74f20a4')],
    ['a 7-digit key ID', PETER_VKEY.replace('c74f20a3', 'c74f20a')],
    ['another name', PETER_VKEY.replace('PeterNeumann', 'PeterNeuman')],
    ['an empty name', PETER_VKEY.replace('PeterNeumann', '')],
    ['a space in the name', PETER_VKEY.replace('PeterNeumann', 'Peter Neumann')],
    ['bad base64', `${PETER_VKEY}!`],
    ['a truncated key', PETER_VKEY.slice(0, -4)],
    ['an unknown algorithm', `PeterNeumann+c74f20a3+${Buffer.concat([Buffer.of(2), Buffer.from(PETER_VKEY.split('+')[2] as string, 'base64').subarray(1)]).toString('base64')}`],
  ])('rejects a verifier key with %s', (_, vkey) => {
    expect(() => parseVerifierKey(vkey)).toThrow(InvalidInputError);
  });

  it('rejects a signer key whose key ID does not match its seed, or without the PRIVATE+KEY prefix', () => {
    expect(() => parseSignerKey(PETER_SKEY.replace('c74f20a3', '00000000'))).toThrow(/does not match/);
    expect(() => parseSignerKey(PETER_SKEY.slice('PRIVATE+KEY+'.length))).toThrow(InvalidInputError);
  });

  it('computes the key ID as SHA-256(name || 0x0A || 0x01 || key)[:4]', () => {
    const publicKey = Buffer.from(PETER_VKEY.split('+')[2] as string, 'base64').subarray(1);
    expect(ed25519KeyId('PeterNeumann', publicKey)).toBe(0xc74f20a3);
  });
});

describe('signNote', () => {
  it("reproduces Go's deterministic PeterNeumann signature byte for byte", () => {
    expect(signNote(GO_TEXT, [parseSignerKey(PETER_SKEY)])).toBe(`${GO_TEXT}\n${PETER_SIGNATURE_LINE}`);
  });

  it('signs with several keys in order, and the result opens', () => {
    const other = generateNoteKey('example.com/other');
    const note = signNote('hello\n', [parseSignerKey(PETER_SKEY), parseSignerKey(other.signerKey)]);
    const opened = openNote(note, [peter, parseVerifierKey(other.verifierKey)]);
    expect(opened.signatures.map((s) => s.name)).toEqual(['PeterNeumann', 'example.com/other']);
  });

  it('refuses text without a final newline, with control characters, or without signers', () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(() => signNote('no newline', [signer])).toThrow(InvalidInputError);
    expect(() => signNote('tab\there\n', [signer])).toThrow(InvalidInputError);
    expect(() => signNote('ok\n', [])).toThrow(InvalidInputError);
  });
});

describe('openNote', () => {
  it('opens the C2SP example', () => {
    const opened = openNote(C2SP_NOTE, [parseVerifierKey(C2SP_VKEY)]);
    expect(opened.text).toBe('This is an example message.\n');
    expect(opened.signatures).toEqual([{ name: 'example.com/foo', keyId: 0x530d903a, base64: expect.any(String) }]);
  });

  it("opens Go's two-signature note with only Peter's key, ignoring Enoch's", () => {
    const opened = openNote(GO_NOTE, [peter]);
    expect(opened.text).toBe(GO_TEXT);
    expect(opened.signatures.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(opened.unverifiedSignatures.map((s) => [s.name, s.keyId])).toEqual([['EnochRoot', 0xaf0cfe78]]);
  });

  it('verifies both signatures when both keys are known, and opens bytes as well as strings', () => {
    expect(openNote(Buffer.from(GO_NOTE, 'utf8'), [enoch, peter]).signatures).toHaveLength(2);
  });

  it('rejects a note signed by no known key', () => {
    expect(() => openNote(GO_NOTE, [parseVerifierKey(C2SP_VKEY)])).toThrow(IntegrityError);
    expect(() => openNote(GO_NOTE, [])).toThrow(IntegrityError);
  });

  it('rejects a note whose text changed, even by one character', () => {
    expect(() => openNote(GO_NOTE.replace('answer', 'Answer'), [peter])).toThrow(IntegrityError);
  });

  it('rejects the whole note when a known key signature fails, even if another known one verifies', () => {
    const badEnoch = ENOCH_SIGNATURE_LINE.replace('rwz+eBzm', 'rwz+eBzn');
    expect(() => openNote(`${GO_TEXT}\n${PETER_SIGNATURE_LINE}${badEnoch}`, [peter, enoch])).toThrow(IntegrityError);
  });

  it('ignores a signature from a key sharing the name but not the ID (and vice versa)', () => {
    const impostor = generateNoteKey('PeterNeumann');
    const note = signNote(GO_TEXT, [parseSignerKey(impostor.signerKey), parseSignerKey(PETER_SKEY)]);
    expect(openNote(note, [peter]).unverifiedSignatures.map((s) => s.name)).toEqual(['PeterNeumann']);
  });

  it('accepts 16 signature lines and refuses more than 100', () => {
    const signers: NoteSigner[] = Array.from({ length: 15 }, (_, n) => parseSignerKey(generateNoteKey(`witness${n}`).signerKey));
    const sixteen = signNote(GO_TEXT, [...signers, parseSignerKey(PETER_SKEY)]);
    expect(openNote(sixteen, [peter]).unverifiedSignatures).toHaveLength(15);
    const tooMany = `${GO_TEXT}\n${PETER_SIGNATURE_LINE}${ENOCH_SIGNATURE_LINE.repeat(MAX_NOTE_SIGNATURES)}`;
    expect(() => openNote(tooMany, [peter])).toThrow(/more than 100/);
  });

  it.each([
    ['no blank line', `${GO_TEXT}${PETER_SIGNATURE_LINE}`],
    ['no final newline', `${GO_TEXT}\n${PETER_SIGNATURE_LINE.slice(0, -1)}`],
    ['an empty signature block', `${GO_TEXT}\n`],
    ['a hyphen instead of an em dash', `${GO_TEXT}\n${PETER_SIGNATURE_LINE.replace('\u2014', '-')}`],
    ['no space after the name', `${GO_TEXT}\n\u2014 PeterNeumann\n`],
    ['bad base64', `${GO_TEXT}\n${PETER_SIGNATURE_LINE.replace('x08go/', 'x08go!')}`],
    ['a too-short signature', `${GO_TEXT}\n\u2014 PeterNeumann AAAA\n`],
    ['a control character', `tab\there\n\n${PETER_SIGNATURE_LINE}`],
    ['a carriage return', `${GO_TEXT.replace('\n', '\r\n')}\n${PETER_SIGNATURE_LINE}`],
  ])('rejects a malformed note: %s', (_, note) => {
    expect(() => openNote(note, [peter])).toThrow(InvalidInputError);
  });

  it('rejects invalid UTF-8 bytes', () => {
    const bytes = Buffer.concat([Buffer.from('bad \xff'.slice(0, 4)), Buffer.of(0xff), Buffer.from(`\n\n${PETER_SIGNATURE_LINE}`)]);
    expect(() => openNote(bytes, [peter])).toThrow(/UTF-8/);
  });

  it('refuses two verifiers with the same name and key ID', () => {
    expect(() => openNote(GO_NOTE, [peter, parseVerifierKey(PETER_VKEY)])).toThrow(/share the name and key ID/);
  });

  it('verifies a note whose text has blank lines: the signatures follow the last one', () => {
    const text = 'Ognuno sta solo\n\ned è subito sera.\n';
    const note = signNote(text, [parseSignerKey(PETER_SKEY)]);
    expect(openNote(note, [peter]).text).toBe(text);
  });
});
