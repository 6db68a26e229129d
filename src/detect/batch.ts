/**
 * Detection in batch, from the DESIGN.md interchange files: customers, employees and cases are
 * loaded into the directory, then events are streamed line by line through the engine. Only the
 * directory and the engine's per-employee state are held, never the events.
 */
import { createReadStream, statSync } from 'node:fs';
import { InvalidInputError } from '../errors.ts';
import { checkReadable, jsonErrorPlace } from '../importer/read-records.ts';
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
  await eachRecord(files.employees, (value, where) => directory.putEmployee(parseEmployee(value, where)));
  await eachRecord(files.customers, (value, where) => directory.putCustomer(parseCustomerFlags(value, where)));
  await eachRecord(files.cases, (value, where) => directory.putCase(parseCase(value, where)));
  return directory;
}

/**
 * Each JSON line of a file, with its place, given to `take` a chunk of lines at a time (no await
 * per line); `onChunk` after each chunk. Blank lines are skipped; a line that is not JSON stops
 * the reading, naming its file and line.
 */
async function eachRecord(file: string, take: (value: unknown, where: Where, text: string) => void, onChunk?: (bytesRead: number) => void): Promise<void> {
  await checkReadable(file);
  let line = 0;
  for await (const chunk of lineBatches(file)) {
    for (const text of chunk.lines) {
      line++;
      if (text.length === 0 || text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new InvalidInputError(`${file}:${line}: not valid JSON${jsonErrorPlace(err)}`, { file, line });
      }
      take(value, { file, line }, text);
    }
    onChunk?.(chunk.bytesRead);
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
  let events = 0;
  await eachRecord(
    file,
    (value, where, text) => {
      for (const alert of engine.observe(parseAccessEvent(value, where, text))) alerts.set(alert.id, alert);
      events++;
    },
    (bytesRead) => options.onProgress?.({ bytesRead, bytesTotal, events, alerts: alerts.size }),
  );
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
