import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { fileSha256, readRecords, UnreadableLine, type FileFormat, type SourceRecord } from './read-records.ts';

const dir = mkdtempSync(join(tmpdir(), 'custos-read-'));
const SECRET = 'ann.secret@mail.example';

async function read(name: string, text: string, format: FileFormat): Promise<Array<SourceRecord | UnreadableLine>> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const out: Array<SourceRecord | UnreadableLine> = [];
  for await (const r of readRecords(file, format)) out.push(r);
  return out;
}

describe('reading import files', () => {
  it('keeps every CSV column as a field, "__proto__" and "constructor" included', async () => {
    const [row] = await read('odd.csv', 'id,__proto__,constructor,toString\nc-1,a,b,c\n', 'csv');
    const value = (row as SourceRecord).value as Record<string, string>;
    expect(Object.keys(value)).toEqual(['id', '__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toBe('a');
    expect(value.constructor).toBe('b');
  });

  it('reports unreadable CSV and JSON lines by line and kind, never quoting their text', async () => {
    const csv = [
      ...(await read('long.csv', `id,email\nc-1,${SECRET},extra\nc-2,b@mail.example\n`, 'csv')),
      ...(await read('quote.csv', `id,email\nc-2,"${SECRET}"x\n`, 'csv')),
    ];
    expect(csv).toEqual([
      new UnreadableLine(2, 'not valid CSV (3 fields, the header has 2)'),
      { line: 3, value: { id: 'c-2', email: 'b@mail.example' } },
      new UnreadableLine(2, 'not valid CSV (invalid closing quote)'),
    ]);
    const json = await read('bad.jsonl', `{"email": "${SECRET}" oops}\n`, 'jsonl');
    expect(json).toHaveLength(1);
    expect((json[0] as UnreadableLine).message).toMatch(/^not valid JSON/);
    expect(JSON.stringify([...csv, ...json])).not.toContain('secret');
  });

  it('refuses a CSV header that names a column twice', async () => {
    expect(await read('twice.csv', 'id,email,email\nc-1,a,b\n', 'csv')).toEqual([new UnreadableLine(1, 'the header names column "email" twice')]);
  });

  it('refuses a directory given as a file with a clear error, not an internal one', async () => {
    const first = async () => {
      for await (const r of readRecords(dir, 'jsonl')) return r;
    };
    await expect(first()).rejects.toThrow(InvalidInputError);
    await expect(first()).rejects.toThrow(`${dir}: is a directory; give a file`);
    await expect(fileSha256(dir)).rejects.toThrow(InvalidInputError);
  });

  it('digests the file it imports', async () => {
    const file = join(dir, 'digest.jsonl');
    writeFileSync(file, '{"id":"c-1"}\n');
    expect(await fileSha256(file)).toBe(createHash('sha256').update('{"id":"c-1"}\n').digest('hex'));
    await expect(fileSha256(join(dir, 'missing.jsonl'))).rejects.toThrow(/no such file/);
  });
});
