#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: no build step between a clone and `npm start`.
import { register } from 'tsx/esm/api';

register();
// Called, not left to main.ts to detect from argv[1]: npx and npm link run this file under
// other paths (the .bin shim), and the command would silently do nothing.
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
