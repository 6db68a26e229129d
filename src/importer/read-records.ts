/**
 * Stream records out of a .jsonl or .csv file, one at a time with their line number;
 * never the whole file in memory.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
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

/** A file that exists and can be read, or a clear InvalidInputError (a directory is not a file). */
export async function checkReadable(file: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch {
    throw new InvalidInputError(`${file}: no such file or it cannot be read`, { file });
  }
  if ((await stat(file)).isDirectory()) throw new InvalidInputError(`${file}: is a directory; give a file`, { file });
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
      yield new UnreadableLine(line, `not valid JSON${jsonErrorPlace(err)}`);
    }
  }
}

/**
 * Where JSON.parse stopped, never what it read: V8's messages quote the text around the
 * error, and the text is a customer's data.
 */
export function jsonErrorPlace(err: unknown): string {
  const at = /position (\d+)/.exec((err as Error).message)?.[1];
  return at !== undefined ? ` (at character ${Number(at) + 1})` : '';
}

async function* readCsv(file: string): AsyncGenerator<SourceRecord | UnreadableLine> {
  // Rows as arrays, objects built here: csv-parse's own column objects silently drop a
  // "__proto__" column, and every field name must reach the record checks.
  const parser = createReadStream(file).pipe(
    parseCsv({ info: true, skip_empty_lines: true, trim: true, bom: true, relax_column_count: true }),
  );
  let header: string[] | undefined;
  try {
    for await (const row of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = row.info.lines;
      if (!header) {
        header = row.record;
        const twice = header.find((name, i) => header!.indexOf(name) !== i);
        if (twice !== undefined) {
          yield new UnreadableLine(line, `the header names column "${twice}" twice`);
          return;
        }
        continue;
      }
      if (row.record.length !== header.length) {
        // Counts only: the cells are customer data.
        yield new UnreadableLine(line, `not valid CSV (${row.record.length} fields, the header has ${header.length})`);
        continue;
      }
      yield { line, value: Object.fromEntries(header.map((name, i) => [name, row.record[i]])) };
    }
  } catch (err) {
    // csv-parse stops at a malformed row; say where and what kind of error, never the text
    // (its messages quote characters of the row), and stop reading this file.
    const e = err as Error & { lines?: number; code?: string };
    yield new UnreadableLine(e.lines ?? 0, `not valid CSV (${csvProblem(e.code)})`);
  }
}

/** csv-parse's error code as words: CSV_INVALID_CLOSING_QUOTE → "invalid closing quote". */
function csvProblem(code: string | undefined): string {
  return code?.startsWith('CSV_') ? code.slice(4).toLowerCase().replace(/_/g, ' ') : 'unreadable';
}
