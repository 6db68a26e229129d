/**
 * The CLI under test is the compiled one (bin/custos.js runs dist/). `npm test` builds first;
 * a test file run on its own (`npx vitest run test/e2e/x.test.ts`) after a source edit would
 * otherwise spawn yesterday's code, so the first CLI test of a run rebuilds dist/ when any
 * source is newer. Test files run in parallel processes: a lock directory lets one build while
 * the others wait for it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Written by every build (the build deletes dist/ first), so its age is the build's. */
const BUILT = join(ROOT, 'dist', 'cli', 'main.js');
const LOCK = join(ROOT, '.build-lock');
const BUILD_INPUTS = ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
const LOCK_WAIT_MS = 300_000;

export function ensureFreshBuild(): void {
  if (!isStale()) return;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (Date.now() > deadline) throw new Error(`${LOCK} has been held for ${LOCK_WAIT_MS / 1000} s; remove it if no build is running`);
    // Another test process is building: wait for its lock to go, then look again.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  try {
    if (isStale()) build();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function build(): void {
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

function isStale(): boolean {
  let built: number;
  try {
    built = statSync(BUILT).mtimeMs;
  } catch {
    return true;
  }
  return BUILD_INPUTS.some((input) => newestMtime(join(ROOT, input)) > built);
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return /\.test\.ts$/.test(path) ? 0 : stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), 0);
}
