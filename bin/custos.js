#!/usr/bin/env node
// Runs the compiled CLI in dist/ (`npm run build`; `npm install` and `npm ci` build it). Loading
// JavaScript rather than compiling TypeScript on every start is what makes a command start fast.
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('custos: not built: run `npm run build` (or `npm install`) first\n');
  process.exit(9);
}
// Called, not left to main.ts to detect from argv[1]: npx and npm link run this file under
// other paths (the .bin shim), and the command would silently do nothing.
await cli.main(process.argv);
