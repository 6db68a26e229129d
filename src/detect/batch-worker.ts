/**
 * `custos detect`'s worker thread (detectInWorker in batch.ts says why): detection over the
 * files, its progress and its result posted back. This file only carries messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from '../worker-rpc.ts';
import { detectFromFiles, type BatchWorkerData, type BatchWorkerMessage } from './batch.ts';

const port = parentPort;
if (!port) throw new Error('batch-worker.ts runs only as a worker thread');
const { files, options, progress } = workerData as BatchWorkerData;
const post = (message: BatchWorkerMessage) => port.postMessage(message);

try {
  const result = await detectFromFiles(files, { ...options, ...(progress ? { onProgress: (p) => post({ kind: 'progress', progress: p }) } : {}) });
  post({ kind: 'done', result });
} catch (err) {
  post({ kind: 'failed', error: serializeError(err) });
}
