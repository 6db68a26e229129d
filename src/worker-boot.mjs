// A worker thread starts without the parent's module hooks: register tsx's loader, then run the
// TypeScript module named in workerData.module (no build step, as everywhere else in Custos).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
