/**
 * `npm run build` (and so `npm install`, `npm ci`): compile src/ into dist/, one JavaScript file
 * per TypeScript file, with tsc. Then give the dependencies shipped as hundreds of small ES
 * modules each a single-file copy in dist/vendor/, and point dist/'s imports of them there:
 * Node 20 loads ES modules one file at a time, and `custos token issue` spent more time loading
 * kysely's 262, libphonenumber-js's 112 and jose's 46 files than doing its work.
 *
 * `--if-stale` builds only when a source is newer than the last complete build (`npm start`
 * and the CLI tests use it, so they never run older code than the sources).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
// libphonenumber-js/max: the full metadata, which records are checked against (model.ts validPhone).
const VENDORED = ['kysely', 'jose', 'libphonenumber-js', 'libphonenumber-js/max'];
/** Written last, so that a build which failed half-way counts as stale. */
const COMPLETE = '.complete';
const INPUTS = ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];

if (!process.argv.includes('--if-stale') || isStale()) {
  // Built aside and swapped in whole: a custos already running never loads half a build.
  const out = join(ROOT, `.dist-${process.pid}`);
  try {
    await build(out);
    rmSync(`${DIST}.old`, { recursive: true, force: true });
    try {
      renameSync(DIST, `${DIST}.old`);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    renameSync(out, DIST);
    rmSync(`${DIST}.old`, { recursive: true, force: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function build(out) {
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
  const compiled = jsFiles(out);
  const vendor = join(out, 'vendor');
  const options = { bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' };

  // Each package from the entry Node itself would load, so the copy exports what the package does.
  await esbuild.build({
    ...options,
    entryPoints: Object.fromEntries(VENDORED.map((pkg) => [pkg, fileURLToPath(import.meta.resolve(pkg))])),
    outdir: vendor,
  });

  // Only import paths change: every import stays external, and a vendored package's becomes the
  // relative path to its copy.
  await esbuild.build({
    ...options,
    entryPoints: compiled,
    outdir: out,
    outbase: out,
    allowOverwrite: true,
    plugins: [
      {
        name: 'vendored-imports',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            if (!VENDORED.includes(args.path)) return { path: args.path, external: true };
            const path = relative(args.resolveDir, join(vendor, `${args.path}.js`));
            return { path: path.startsWith('.') ? path : `./${path}`, external: true };
          });
        },
      },
    ],
  });
  writeFileSync(join(out, COMPLETE), '');
}

function isStale() {
  let built;
  try {
    built = statSync(join(DIST, COMPLETE)).mtimeMs;
  } catch {
    return true;
  }
  return INPUTS.some((input) => newestMtime(join(ROOT, input)) > built);
}

/** Of the files under `path`, tests aside (they are not built). */
function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith('.test.ts') ? 0 : stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), 0);
}

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}
