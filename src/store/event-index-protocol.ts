/** Messages between the store and its SQLite workers (event-index-worker.ts, ledger-writer-worker.ts). */
import { ConfigError, ConflictError, CustosError, IntegrityError, InvalidInputError, NotFoundError, UnavailableError } from '../errors.ts';
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

export type { WorkerReply as IndexReply } from './worker-rpc.ts';

export interface SerializedError {
  name: string;
  message: string;
  details?: Record<string, unknown>;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof CustosError) return { name: err.name, message: err.message, details: err.details };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** The same class on this side of the thread boundary, so HTTP and CLI map it as usual. */
export function deserializeError(e: SerializedError): Error {
  const details = e.details ?? {};
  switch (e.name) {
    case 'InvalidInputError':
      return new InvalidInputError(e.message, details as { field?: string });
    case 'NotFoundError':
      return new NotFoundError(e.message, details);
    case 'ConflictError':
      return new ConflictError(e.message, details);
    case 'IntegrityError':
      return new IntegrityError(e.message, details);
    case 'UnavailableError':
      return new UnavailableError(e.message, details);
    case 'ConfigError':
      return new ConfigError(e.message, details);
    default: {
      const err = new Error(e.message);
      err.name = e.name;
      return err;
    }
  }
}
