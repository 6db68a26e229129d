/**
 * The real `custos` command as a child process: the CLI runs exactly as a user runs it, and its
 * memory is its own, measured from /proc rather than guessed from inside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nowMs } from './figures.ts';

export const CUSTOS_BIN = fileURLToPath(new URL('../bin/custos.js', import.meta.url));

/** Children still running, so an interrupted benchmark can stop them rather than orphan them. */
const running = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.on('close', () => running.delete(child));
  return child;
}

/** SIGKILL every child this process started and that is still running. */
export function killChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * The parent's environment without CUSTOS_* (a CUSTOS_STORE in the caller's shell would
 * otherwise win over --data and point the benchmark at the wrong store), plus `extra`.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CUSTOS_')) env[k] = v;
  return { ...env, ...extra };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set (VmHWM) in MiB, as last seen by polling /proc; 0 if never seen. */
  peakRssMiB: number;
}

/** Runs `custos ARGS` to completion, polling its peak RSS every `pollMs`. */
export function runCustos(args: readonly string[], opts: { env?: Record<string, string>; pollMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const start = nowMs();
    const child = spawn(process.execPath, [CUSTOS_BIN, ...args], { env: childEnv({ CUSTOS_LOG_LEVEL: 'warn', ...opts.env }), stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let stdout = '';
    let stderr = '';
    let peakKiB = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // VmHWM is the kernel's own high-water mark, so polling only has to catch it before exit.
    const poll = setInterval(() => {
      const kib = child.pid === undefined ? undefined : readVmHwmKiB(child.pid);
      if (kib !== undefined) peakKiB = Math.max(peakKiB, kib);
    }, opts.pollMs ?? 100);
    child.on('error', (err) => {
      clearInterval(poll);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code: code ?? -1, stdout, stderr, wallMs: nowMs() - start, peakRssMiB: peakKiB / 1024 });
    });
  });
}

function readVmHwmKiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    // Gone between polls, or no /proc (not Linux).
    return undefined;
  }
}

// USER_HZ: 100 on every Linux architecture Node runs on.
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used so far, from /proc/PID/stat; the difference
 * over a load run says whether a server was busy or waiting.
 */
export function cpuSecondsOf(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export interface RunningServer {
  url: string;
  pid: number;
  /** Its last output lines: log lines at CUSTOS_LOG_LEVEL and above, start-up and shutdown messages. */
  outputTail(): string[];
  /** SIGTERM, then wait for the drain and final checkpoint; SIGKILL if it takes too long. */
  stop(): Promise<number | null>;
}

const TAIL_LINES = 40;

/** Starts `custos serve ARGS` and resolves once it prints `custos listening on URL`. */
export function startCustosServer(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<RunningServer> {
  return startListening('custos serve', [CUSTOS_BIN, 'serve', ...args], env, /custos listening on (http:\/\/\S+)/, timeoutMs);
}

export const BASELINE_SERVER = fileURLToPath(new URL('./baseline-server.ts', import.meta.url));

/** Starts the reveal benchmark's baseline server (bench/baseline-server.ts) over `dataDir`. */
export function startBaselineServer(dataDir: string, env: Record<string, string>, timeoutMs = 60_000): Promise<RunningServer> {
  return startListening('the baseline server', ['--import', 'tsx', BASELINE_SERVER, '--data', dataDir, '--port', '0'], env, /baseline listening on (http:\/\/\S+)/, timeoutMs);
}

/** Runs node with `nodeArgs` and resolves once a line of its output matches `ready` (group 1: the URL). */
function startListening(what: string, nodeArgs: readonly string[], env: Record<string, string>, ready: RegExp, timeoutMs: number): Promise<RunningServer> {
  const child = spawn(process.execPath, nodeArgs, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  // Log lines (pino, stdout) and messages (stderr) alike; reading both for the server's life also
  // keeps a full pipe from blocking its writes.
  const tail: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let listening = false;
    const timer = setTimeout(() => fail(new Error(`${what} did not start within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      if (listening) return;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n${tail.join('\n')}`));
    };
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      const m = ready.exec(line);
      if (m && !listening) {
        listening = true;
        clearTimeout(timer);
        resolve({ url: m[1] as string, pid: child.pid as number, outputTail: () => [...tail], stop: () => stopChild(child, exited) });
      }
    };
    eachLine(child.stdout, onLine);
    eachLine(child.stderr, onLine);
    child.on('error', fail);
    void exited.then((code) => fail(new Error(`${what} exited with ${code} before listening`)));
  });
}

function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    return await exited;
  } finally {
    clearTimeout(killer);
  }
}
