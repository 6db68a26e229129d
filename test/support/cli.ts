/** Run the real `custos` command as a user would, capturing its output and exit code. */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreLocation } from '../../src/store/store.ts';
import { ensureFreshBuild } from './build.ts';

// The command runs compiled code: never an older build than the sources under test.
ensureFreshBuild();

export const BIN = fileURLToPath(new URL('../../bin/custos.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function custosCli(args: string[], opts: { env?: Record<string, string>; input?: string; bin?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], {
      env: { ...process.env, CUSTOS_LOG_LEVEL: 'silent', ...(opts.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** The CLI flags for a store location; key files go in the SQLite store's directory, or in `keyDir` beside a PostgreSQL store. */
export function cliStoreFlags(loc: StoreLocation, keyDir: string): string[] {
  return loc.dialect === 'postgres' ? ['--data', keyDir, '--store', `${loc.url}?schema=${loc.schema}`] : ['--data', dirname(loc.file)];
}

/** A token for `employee` from `custos token issue` (its last line). */
export async function cliToken(flags: string[], employee: string): Promise<string> {
  const res = await custosCli(['token', 'issue', '--employee', employee, ...flags]);
  if (res.code !== 0) throw new Error(`token issue failed: ${res.stderr}`);
  return res.stdout.trim().split('\n').pop()!;
}
