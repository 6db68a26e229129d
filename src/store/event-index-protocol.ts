/** Messages between the store and its SQLite index worker (event-index-worker.ts). */
import type { AccessEventQueries, ProjectionOptions } from './event-index.ts';

export interface IndexWorkerData {
  ledgerFile: string;
  indexFile: string;
  options: Omit<ProjectionOptions, 'onError'>;
}

export type QueryMethod = keyof AccessEventQueries;

export type IndexRequest =
  | { kind: 'appended'; size: number }
  | { kind: 'catchUp' | 'indexedThrough' | 'rebuild' | 'close'; id: number }
  | { kind: 'query'; id: number; method: QueryMethod; args: unknown[] };

export type { WorkerReply as IndexReply } from '../worker-rpc.ts';
