/**
 * `npm run build` (and so `npm install`, `npm ci`): compile src/ into dist/, one JavaScript file
 * per TypeScript file, with tsc. Then give the dependencies shipped as hundreds of small ES
 * modules each a single-file copy in dist/vendor/, and point dist/'s imports of them there:
 * Node 20 loads ES modules one file at a time, and `custos token issue` spent more time loading
 * kysely's 262, libphonenumber-js's 112 and jose's 46 files than doing its work.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const VENDOR = join(DIST, 'vendor');
const VENDORED = ['kysely', 'jose', 'libphonenumber-js'];

rmSync(DIST, { recursive: true, force: true });
execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });

const compiled = jsFiles(DIST);

// Each package from the entry Node itself would load, so the copy exports what the package does.
await esbuild.build({
  entryPoints: Object.fromEntries(VENDORED.map((pkg) => [pkg, fileURLToPath(import.meta.resolve(pkg))])),
  outdir: VENDOR,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});

// Rewrites only import paths: every import stays external, and a vendored package's becomes the
// relative path to its copy.
await esbuild.build({
  entryPoints: compiled,
  outdir: DIST,
  outbase: DIST,
  allowOverwrite: true,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  plugins: [
    {
      name: 'vendored-imports',
      setup(build) {
        build.onResolve({ filter: /.*/ }, (args) => {
          if (args.kind === 'entry-point') return undefined;
          if (!VENDORED.includes(args.path)) return { path: args.path, external: true };
          const path = relative(args.resolveDir, join(VENDOR, `${args.path}.js`));
          return { path: path.startsWith('.') ? path : `./${path}`, external: true };
        });
      },
    },
  ],
});

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}
