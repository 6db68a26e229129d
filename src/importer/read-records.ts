/**
 * Stream records out of a .jsonl or .csv file, one at a time with their line number;
 * never the whole file in memory.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { InvalidInputError } from '../errors.ts';

export type FileFormat = 'jsonl' | 'csv';

export interface SourceRecord {
  line: number;
  value: unknown;
}

/** A line that could not be read as a record at all (bad JSON, bad CSV quoting). */
export class UnreadableLine {
  constructor(
    readonly line: number,
    readonly message: string,
  ) {}
}

export function formatOf(file: string, explicit?: string): FileFormat {
  const format = explicit ?? (/\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : /\.csv$/i.test(file) ? 'csv' : undefined);
  if (format === 'jsonl' || format === 'csv') return format;
  throw new InvalidInputError(
    explicit ? `--format must be jsonl or csv, got "${explicit}"` : `${file}: cannot tell the format from the name; use a .jsonl or .csv file, or --format jsonl|csv`,
    explicit ? { field: 'format' } : { file },
  );
}

async function checkReadable(file: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch {
    throw new InvalidInputError(`${file}: no such file or it cannot be read`, { file });
  }
}

/** SHA-256 (hex) of the file's bytes, as the import's record names the file it read. */
export async function fileSha256(file: string): Promise<string> {
  await checkReadable(file);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function* readRecords(file: string, format: FileFormat): AsyncGenerator<SourceRecord | UnreadableLine> {
  await checkReadable(file);
  if (format === 'jsonl') yield* readJsonLines(file);
  else yield* readCsv(file);
}

async function* readJsonLines(file: string): AsyncGenerator<SourceRecord | UnreadableLine> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    try {
      yield { line, value: JSON.parse(text) as unknown };
    } catch (err) {
      yield new UnreadableLine(line, `not valid JSON (${(err as Error).message})`);
    }
  }
}

async function* readCsv(file: string): AsyncGenerator<SourceRecord | UnreadableLine> {
  const parser = createReadStream(file).pipe(
    parseCsv({ columns: true, info: true, skip_empty_lines: true, trim: true, bom: true }),
  );
  try {
    for await (const row of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield { line: row.info.lines, value: row.record };
    }
  } catch (err) {
    // csv-parse stops at a malformed row; say where and stop reading this file.
    const e = err as Error & { lines?: number };
    yield new UnreadableLine(e.lines ?? 0, `not valid CSV (${e.message})`);
  }
}
