/** A real `custos serve` process, as an operator runs it, for multi-process tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openCustos } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { seedDemoIfEmpty } from '../../src/simulate/seed-demo.ts';
import type { StoreLocation } from '../../src/store/store.ts';
import { BIN, cliStoreFlags } from './cli.ts';

/**
 * Seeds the demo organisation into a fresh store as a first `custos
 * serve` does, but with few customers and without its events, which serve would record in the
 * background: servers on that store then start with `--no-demo`. Key files go where
 * cliStoreFlags puts them: beside a SQLite store, in `keyDir` for PostgreSQL.
 */
export async function seedDemoStore(loc: StoreLocation, keyDir: string, customers = 300): Promise<void> {
  const config = loadConfig({ data: loc.dialect === 'sqlite' ? dirname(loc.file) : keyDir });
  config.store = loc;
  const custos = await openCustos(config);
  try {
    await seedDemoIfEmpty(custos.store, custos.vault, custos.now(), customers);
  } finally {
    await custos.close();
  }
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the server wrote so far (its log lines included). */
  stderr(): string;
  /** SIGINT and wait for the exit code. */
  stop(): Promise<number | null>;
}

export function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    env: { ...process.env, CUSTOS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  // The request log (pino, on stdout) says why a request failed.
  child.stdout!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise<ServerProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 120 s:\n${stderr}`)), 120_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /custos listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          stderr: () => stderr,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`custos serve exited ${code} before listening:\n${stderr}`));
    });
  });
}

/**
 * A fresh store at `loc`, the demo organisation in it, and two `custos serve` processes on it;
 * each server is pushed to `servers` as soon as it runs, for the suite's afterAll to stop.
 */
export async function twoServersOn(loc: StoreLocation, servers: ServerProcess[], env: Record<string, string> = {}): Promise<{ flags: string[]; a: ServerProcess; b: ServerProcess }> {
  const keyDir = mkdtempSync(join(tmpdir(), 'custos-servers-'));
  const flags = cliStoreFlags(loc, keyDir);
  await seedDemoStore(loc, keyDir);
  const a = await spawnServer([...flags, '--no-demo'], env);
  servers.push(a);
  const b = await spawnServer([...flags, '--no-demo'], env);
  servers.push(b);
  return { flags, a, b };
}
