import { describe, expect, it } from 'vitest';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { formatCheckpoint, openCheckpoint, openLedgerCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.ts';
import { leafHash } from './merkle.ts';
import { generateNoteKey, parseSignerKey, parseVerifierKey, signNote } from './note.ts';
import {
  PETER_CHECKPOINT,
  PETER_SKEY,
  PETER_VKEY,
  REKOR_CHECKPOINT,
  REKOR_CHECKPOINT_BODY,
  ROOTS,
  SUMDB_CHECKPOINT,
  SUMDB_VKEY,
  b64,
} from './test-vectors.ts';

describe('checkpoint text', () => {
  it("formats Go's tlog tree note (FormatTree)", () => {
    const body = formatCheckpoint({ origin: 'go.sum database tree', size: 123456789012, root: leafHash(Buffer.from('hello world')), extensions: [] });
    expect(body).toBe('go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n');
  });

  it('parses the Rekor checkpoint with its extension line, and formats it back unchanged', () => {
    const checkpoint = parseCheckpoint(REKOR_CHECKPOINT_BODY);
    expect(checkpoint).toEqual({
      origin: 'rekor.sigstore.dev - 2605736670972794746',
      size: 21428036,
      root: b64('rxnoKyFZlJ7/R6bMh/d3lcqwKqAy5CL1LcNBJP17kgQ='),
      extensions: ['Timestamp: 1688058656037355364'],
    });
    expect(formatCheckpoint(checkpoint)).toBe(REKOR_CHECKPOINT_BODY);
  });

  it.each([
    ['a missing final newline', 'o\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0='],
    ['only two lines', 'o\n1\n'],
    ['an empty origin', '\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n'],
    ['a leading zero', 'o\n01\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n'],
    ['a negative size', 'o\n-1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n'],
    ['an exponent', 'o\n1e3\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n'],
    ['a size beyond 2^53', 'o\n9007199254740993\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n'],
    ['a 31-byte root', `o\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['a 33-byte root', `o\n1\n${Buffer.alloc(33).toString('base64')}\n`],
    ['unpadded base64', 'o\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0\n'],
    ['base64url', 'o\n1\nbjQLnP-zepicpUTmu3gKLHiQHT-zNzh2hRGjBhevoB0=\n'],
    ['an empty extension line', 'o\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n\n'],
  ])('rejects %s', (_, text) => {
    expect(() => parseCheckpoint(text)).toThrow(InvalidInputError);
  });

  it('names the line at fault', () => {
    try {
      parseCheckpoint('o\n01\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n');
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidInputError).where?.line).toBe(2);
    }
  });

  it('accepts the empty tree, size 0', () => {
    expect(parseCheckpoint(`o\n0\n${Buffer.from(ROOTS[0] as Buffer).toString('base64')}\n`).size).toBe(0);
  });

  it('refuses to format an origin with a newline or a short root', () => {
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root: ROOTS[1] as Buffer, extensions: [] })).toThrow(InvalidInputError);
    expect(() => formatCheckpoint({ origin: 'a', size: 1, root: Buffer.alloc(31), extensions: [] })).toThrow(InvalidInputError);
    expect(() => formatCheckpoint({ origin: 'a', size: -1, root: ROOTS[1] as Buffer, extensions: [] })).toThrow(InvalidInputError);
  });
});

describe('signed checkpoints', () => {
  it('opens the real sum.golang.org checkpoint (key name differs from its legacy origin)', () => {
    const { checkpoint, signatures } = openCheckpoint(SUMDB_CHECKPOINT, [parseVerifierKey(SUMDB_VKEY)]);
    expect(checkpoint.origin).toBe('go.sum database tree');
    expect(checkpoint.size).toBe(6476701);
    expect(Buffer.from(checkpoint.root).toString('base64')).toBe('mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=');
    expect(signatures.map((s) => s.name)).toEqual(['sum.golang.org']);
    // A Custos log requires the origin's own key, so this one does not pass as a ledger checkpoint.
    expect(() => openLedgerCheckpoint(SUMDB_CHECKPOINT, [parseVerifierKey(SUMDB_VKEY)])).toThrow(IntegrityError);
  });

  it('reproduces the PeterNeumann checkpoint of the 8-leaf tree byte for byte, and opens it', () => {
    const note = signCheckpoint({ origin: 'PeterNeumann', size: 8, root: ROOTS[8] as Buffer, extensions: [] }, parseSignerKey(PETER_SKEY));
    expect(note).toBe(PETER_CHECKPOINT);
    const checkpoint = openLedgerCheckpoint(PETER_CHECKPOINT, [parseVerifierKey(PETER_VKEY)]);
    expect(checkpoint.size).toBe(8);
    expect(checkpoint.root).toEqual(ROOTS[8]);
  });

  it('rejects a checkpoint whose size or root was altered after signing', () => {
    const verifiers = [parseVerifierKey(PETER_VKEY)];
    expect(() => openLedgerCheckpoint(PETER_CHECKPOINT.replace('\n8\n', '\n9\n'), verifiers)).toThrow(IntegrityError);
    expect(() => openLedgerCheckpoint(PETER_CHECKPOINT.replace('XcnaeacG', 'XcnaeacH'), verifiers)).toThrow(IntegrityError);
  });

  it('rejects the Rekor checkpoint: its ECDSA signature is by no known Ed25519 key', () => {
    expect(() => openCheckpoint(REKOR_CHECKPOINT, [parseVerifierKey(PETER_VKEY)])).toThrow(IntegrityError);
  });

  it('signs only with a key named like the origin', () => {
    const key = parseSignerKey(generateNoteKey('custos/abc').signerKey);
    expect(() => signCheckpoint({ origin: 'custos/other', size: 1, root: ROOTS[1] as Buffer, extensions: [] }, key)).toThrow(InvalidInputError);
  });

  it('rejects a checkpoint that opens as a note but is not a checkpoint', () => {
    const key = generateNoteKey('custos/abc');
    const note = signNote('custos/abc\n08\nxx\n', [parseSignerKey(key.signerKey)]);
    expect(() => openLedgerCheckpoint(note, [parseVerifierKey(key.verifierKey)])).toThrow(InvalidInputError);
  });
});
