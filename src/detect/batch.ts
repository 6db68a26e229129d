/**
 * Detection in batch, from the DESIGN.md interchange files: customers, employees and cases are
 * loaded into the directory, then events are streamed line by line through the engine. Only the
 * directory and the engine's per-employee state are held, never the events.
 */
import { createReadStream, statSync } from 'node:fs';
import { InvalidInputError, TooLargeError, UnavailableError } from '../errors.ts';
import { checkReadable, jsonErrorPlace } from '../importer/read-records.ts';
import { parseAccessEvent, parseCase, parseCustomerFlags, parseEmployee, type Where } from '../model.ts';
import { deserializeError, startWorker, type SerializedError } from '../worker-rpc.ts';
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

/** What detectInWorker hands its thread: the detection options that cross a thread (no callbacks). */
export interface BatchWorkerData {
  files: BatchFiles;
  options: Omit<DetectionOptions, 'onFinding'>;
  /** Whether to post progress. */
  progress: boolean;
}

export type BatchWorkerMessage = { kind: 'progress'; progress: BatchProgress } | { kind: 'done'; result: BatchResult } | { kind: 'failed'; error: SerializedError };

const WORKER_MODULE = new URL('./batch-worker.ts', import.meta.url);
const MIB = 1024 * 1024;

/**
 * The heap detection over these files is given by default, in MiB: what it holds is the
 * directory (parsed records take up to about twice their JSON lines) and a bounded state per
 * employee, never the events.
 */
export function defaultHeapLimitMiB(files: Omit<BatchFiles, 'events'>): number {
  const bytes = [files.customers, files.employees, files.cases].reduce((sum, f) => sum + fileSize(f), 0);
  return 512 + 2 * Math.ceil(bytes / MIB);
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    // An unreadable file is reported, by name, when it is read.
    return 0;
  }
}

/**
 * detectFromFiles in a worker thread whose heap is capped at `heapLimitMiB` (default
 * defaultHeapLimitMiB). The cap bounds the process by the directory rather than by the events:
 * with a limit of 2 GiB or more (Node's default on most servers) V8 lets dead
 * objects pile up to four times what is live before a full collection, under a smaller one to
 * at most twice, and never past the cap. Detection that needs more than the cap stops with a
 * TooLargeError naming `--heap-limit`.
 */
export function detectInWorker(
  files: BatchFiles,
  options: Omit<DetectionOptions, 'onFinding'> & { onProgress?: (p: BatchProgress) => void; heapLimitMiB?: number } = {},
): Promise<BatchResult> {
  const { onProgress, heapLimitMiB, ...detection } = options;
  const limit = heapLimitMiB ?? defaultHeapLimitMiB(files);
  const data: BatchWorkerData = { files, options: detection, progress: onProgress !== undefined };
  return new Promise((resolve, reject) => {
    const worker = startWorker(WORKER_MODULE, data, { maxOldGenerationSizeMb: limit, maxYoungGenerationSizeMb: YOUNG_GENERATION_MIB });
    worker.on('message', (m: BatchWorkerMessage) => {
      if (m.kind === 'progress') onProgress?.(m.progress);
      else if (m.kind === 'done') resolve(m.result);
      else reject(deserializeError(m.error));
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        reject(new TooLargeError(`detection ran out of memory: the directory and the detectors' state need more than the ${limit} MiB heap it was given; raise it with --heap-limit MiB`, { heapLimitMiB: limit }));
      } else reject(err);
    });
    // After a result this changes nothing; before one, the thread died without saying why.
    worker.on('exit', (code) => reject(new UnavailableError(`detection stopped unexpectedly (worker exit code ${code})`)));
  });
}

/**
 * Young generation of the worker, MiB (semi-spaces of 32 MiB, twice V8's default): a megabyte
 * of lines and the events parsed from it die young rather than being promoted to be collected
 * later (half the scavenges, and no slower).
 */
const YOUNG_GENERATION_MIB = 96;
