/**
 * Detection in batch, from the DESIGN.md interchange files: customers, employees and cases are
 * loaded into the directory, then events are streamed line by line through the engine. Only the
 * directory and the engine's per-employee state are held, never the events.
 */
import { createReadStream, statSync } from 'node:fs';
import { InvalidInputError } from '../errors.ts';
import { checkReadable, readRecords, UnreadableLine } from '../importer/read-records.ts';
import { parseAccessEvent, parseCase, parseCustomerFlags, parseEmployee, type Where } from '../model.ts';
import type { Alert } from './alert.ts';
import { MemoryDirectory } from './directory.ts';
import { DetectionEngine, type DetectionOptions } from './engine.ts';

export interface BatchFiles {
  customers: string;
  employees: string;
  cases: string;
  events: string;
}

export interface BatchProgress {
  bytesRead: number;
  bytesTotal: number;
  events: number;
  alerts: number;
}

export interface BatchResult {
  alerts: Alert[];
  events: number;
  directory: { employees: number; customers: number; cases: number };
}

/**
 * Loads the three directory files; a bad line stops with its file, line and field. Of customers
 * only what detection reads is parsed and checked (the clear fields and flags, not the personal data).
 */
export async function loadDirectory(files: Omit<BatchFiles, 'events'>): Promise<MemoryDirectory> {
  const directory = new MemoryDirectory();
  for await (const { value, where } of records(files.employees)) directory.putEmployee(parseEmployee(value, where));
  for await (const { value, where } of records(files.customers)) directory.putCustomer(parseCustomerFlags(value, where));
  for await (const { value, where } of records(files.cases)) directory.putCase(parseCase(value, where));
  return directory;
}

async function* records(file: string): AsyncGenerator<{ value: unknown; where: Where }> {
  for await (const r of readRecords(file, 'jsonl')) {
    if (r instanceof UnreadableLine) throw new InvalidInputError(`${file}:${r.line}: ${r.message}`, { file, line: r.line });
    yield { value: r.value, where: { file, line: r.line } };
  }
}

/**
 * Runs the engine over the events file. Alerts come back in the order they were first raised,
 * each in its latest state. Events without an id are named by file and line (parseAccessEvent).
 */
export async function detectFromFiles(files: BatchFiles, options: DetectionOptions & { onProgress?: (p: BatchProgress) => void } = {}): Promise<BatchResult> {
  const directory = await loadDirectory(files);
  const engine = new DetectionEngine(directory, options);
  const alerts = new Map<string, Alert>();
  const file = files.events;
  await checkReadable(file);
  const bytesTotal = statSync(file).size;
  let line = 0;
  let events = 0;
  let bytesRead = 0;
  for await (const lines of lineBatches(file)) {
    for (const text of lines.lines) {
      line++;
      if (text.length === 0 || text.trim() === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw new InvalidInputError(`${file}:${line}: not valid JSON`, { file, line });
      }
      for (const alert of engine.observe(parseAccessEvent(raw, { file, line }))) alerts.set(alert.id, alert);
      events++;
    }
    bytesRead = lines.bytesRead;
    options.onProgress?.({ bytesRead, bytesTotal, events, alerts: alerts.size });
  }
  for (const alert of engine.flush()) alerts.set(alert.id, alert);
  options.onProgress?.({ bytesRead: bytesTotal, bytesTotal, events, alerts: alerts.size });
  return { alerts: [...alerts.values()], events, directory: directory.size };
}

/**
 * The lines of a file a chunk at a time: one await per megabyte rather than per line (readline
 * awaits each line, which costs more than parsing it). A line may span chunks; "\r\n" ends a
 * line too.
 */
export async function* lineBatches(file: string): AsyncGenerator<{ lines: string[]; bytesRead: number }> {
  const input = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest = '';
  for await (const chunk of input as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() as string;
    yield { lines: lines.map(dropCr), bytesRead: input.bytesRead };
  }
  if (rest !== '') yield { lines: [dropCr(rest)], bytesRead: input.bytesRead };
}

function dropCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
