/** Messages between live detection (live-detection.ts) and its engine's worker thread (detection-worker.ts). */
import type { Alert } from '../detect/alert.ts';
import type { MemoryDirectory } from '../detect/directory.ts';
import type { DetectionOptions } from '../detect/engine.ts';
import type { RecordedEvent } from '../model.ts';

/** What crosses to the worker of the engine's options: data only (no callbacks). */
export type WorkerDetectionOptions = Omit<DetectionOptions, 'onFinding'>;

export interface DetectionWorkerData {
  options: WorkerDetectionOptions;
  fault?: DetectionWorkerFault;
}

/**
 * Tests only: the worker dies on reaching the event with id `event`, by an exception out of the
 * engine (`throw`, as a detector's bug would) or by `process.exit` inside the thread (`exit`).
 * `remaining[0]`, shared by every worker one LiveDetection starts, counts the deaths left to
 * cause: with 1, the restarted worker's replay passes the event and lives.
 */
export interface DetectionWorkerFault {
  event: string;
  how: 'throw' | 'exit';
  /** On a SharedArrayBuffer, so that the workers count down one number. */
  remaining: Int32Array;
}

/** A page of one kind of directory records. */
export type DirectoryRecords =
  | { of: 'employees'; records: Array<Parameters<MemoryDirectory['putEmployee']>[0]> }
  | { of: 'customers'; records: Array<Parameters<MemoryDirectory['putCustomer']>[0]> }
  | { of: 'cases'; records: Array<Parameters<MemoryDirectory['putCase']>[0]> };

/** An alert the engine raised or updated at event `seq`, with the engine's alias of the employee. */
export interface WorkerFinding {
  seq: number;
  alert: Alert;
  engineAlias: string;
}

/** What live detection asks (WorkerRpc adds the request's id). */
export type DetectionRequest =
  | ({ kind: 'put' } & DirectoryRecords)
  /** Observe events in ledger order; alerts raised at `seq >= reportFrom` come back. */
  | { kind: 'observe'; events: RecordedEvent[]; reportFrom: number };

export type { WorkerReply as DetectionReply } from '../worker-rpc.ts';
