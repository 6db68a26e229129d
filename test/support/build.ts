/**
 * The CLI under test is the compiled one (bin/custos.js runs dist/). `npm test` builds first;
 * a test file run on its own (`npx vitest run test/e2e/x.test.ts`) after a source edit would
 * otherwise spawn older code, so CLI tests rebuild dist/ first when a source is newer. Test
 * files run in parallel processes: a lock directory lets one build while the others wait.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOCK = join(ROOT, '.build-lock');
const LOCK_WAIT_MS = 300_000;

export function ensureFreshBuild(): void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (Date.now() > deadline) throw new Error(`${LOCK} has been held for ${LOCK_WAIT_MS / 1000} s; remove it if no build is running`);
    // Another test process is building: wait for its lock to go.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`the build failed:\n${stdout ?? ''}${stderr ?? ''}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
