/**
 * What the real `custos` process loads: a command's start-up time is mostly the modules it
 * loads, so `--version` and `--help` load no command, and a command loads no other command's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Registered with --import: a module hook that appends every URL loaded to the file in MODULE_LOG. */
const RECORDER = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  appendFileSync(log, url + '\\\\n');
  return next(url, context);
}
\`), { data: { log: process.env.MODULE_LOG } });
`;

/** The packages and project files (relative to the repository) `custos ARGS` loads. */
async function modulesLoaded(args: string[]): Promise<{ packages: string[]; files: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-startup-'));
  const recorder = join(dir, 'recorder.mjs');
  const log = join(dir, 'modules.log');
  writeFileSync(recorder, RECORDER);
  writeFileSync(log, '');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', recorder, BIN, ...args], { env: { ...process.env, MODULE_LOG: log }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
  expect(code).toBe(0);
  const packages = new Set<string>();
  const files = new Set<string>();
  for (const url of readFileSync(log, 'utf8').split('\n')) {
    if (!url.startsWith('file:')) continue;
    const path = fileURLToPath(url);
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
    if (pkg) packages.add(pkg);
    else files.add(path.slice(ROOT.length));
  }
  return { packages: [...packages].sort(), files: [...files].sort() };
}

describe('custos start-up', () => {
  it('--version and --help load commander and the command list, nothing else', async () => {
    for (const flag of ['--version', '--help']) {
      expect(await modulesLoaded([flag])).toEqual({ packages: ['commander'], files: ['bin/custos.js', 'dist/cli/main.js', 'dist/errors.js'] });
    }
  });

  it('a command loads its own module, compiled, and no other command or the HTTP server', async () => {
    const { packages, files } = await modulesLoaded(['token', '--help']);
    // operator.js: who runs an act, and the ledger record of it (token issue is recorded).
    expect(files.filter((f) => f.startsWith('dist/cli/'))).toEqual(['dist/cli/main.js', 'dist/cli/operator.js', 'dist/cli/store-flags.js', 'dist/cli/token.js']);
    expect(files.filter((f) => !f.startsWith('dist/') && f !== 'bin/custos.js')).toEqual([]);
    expect(packages).not.toContain('fastify');
  });

  it('loads kysely, jose and libphonenumber-js (and its full metadata) as one file each, from dist/vendor/', async () => {
    const { packages, files } = await modulesLoaded(['token', '--help']);
    expect(files.filter((f) => f.startsWith('dist/vendor/'))).toEqual(['dist/vendor/jose.js', 'dist/vendor/kysely.js', 'dist/vendor/libphonenumber-js.js', 'dist/vendor/libphonenumber-js/max.js']);
    expect(packages.filter((p) => ['kysely', 'jose', 'libphonenumber-js'].includes(p))).toEqual([]);
  });
});
