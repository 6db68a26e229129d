// Run from sources (vitest, tsx), a worker thread starts without the parent's module hooks:
// register tsx's loader, then run the TypeScript module named in workerData.module. Compiled
// code (dist/) starts its workers directly and never loads this file.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
