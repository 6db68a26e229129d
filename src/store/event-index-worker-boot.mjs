// A worker thread starts without the parent's module hooks: register tsx's loader, then run the
// TypeScript worker (no build step, as everywhere else in Custos).
import { register } from 'tsx/esm/api';

register();
await import('./event-index-worker.ts');
