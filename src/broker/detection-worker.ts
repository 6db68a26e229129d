/**
 * Live detection's engine in a worker thread (live-detection.ts says why): the directory and the
 * DetectionEngine live here; the main thread hands over directory records and batches of
 * events in ledger order and gets back the alerts they raised. This file only carries messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MemoryDirectory } from '../detect/directory.ts';
import { DetectionEngine } from '../detect/engine.ts';
import { serializeError } from '../worker-rpc.ts';
import type { DetectionReply, DetectionRequest, DetectionWorkerData, WorkerFinding } from './detection-protocol.ts';

const port = parentPort;
if (!port) throw new Error('detection-worker.ts runs only as a worker thread');
const data = workerData as DetectionWorkerData;

const directory = new MemoryDirectory();
const engine = new DetectionEngine(directory, data.options);
const fault = data.fault;

function handle(req: DetectionRequest): unknown {
  switch (req.kind) {
    case 'put':
      if (req.of === 'employees') for (const r of req.records) directory.putEmployee(r);
      else if (req.of === 'customers') for (const r of req.records) directory.putCustomer(r);
      else for (const r of req.records) directory.putCase(r);
      return undefined;
    case 'observe': {
      const found: WorkerFinding[] = [];
      for (const event of req.events) {
        if (fault && event.id === fault.event && Atomics.sub(fault.remaining, 0, 1) > 0) die(fault.how);
        const alerts = engine.observe(event);
        // Below reportFrom the alerts were stored before a restart: the replay only rebuilds state.
        if (event.seq >= req.reportFrom) for (const alert of alerts) found.push({ seq: event.seq, alert, engineAlias: engine.alias(alert.employee) });
      }
      return found;
    }
  }
}

/** The test-only fault (DetectionWorkerFault): never reached unless a test asked for it. */
function die(how: 'throw' | 'exit'): never {
  if (how === 'exit') process.exit(70);
  throw new Error(`detection worker fault injected for a test (${how})`);
}

port.on('message', (req: DetectionRequest & { id: number }) => {
  let result: unknown;
  try {
    result = handle(req);
  } catch (err) {
    // An exception part-way through the events leaves the engine's state half-updated, which no
    // replay of the ledger would give: the thread dies of it, and live detection starts another.
    if (req.kind === 'observe') throw err;
    port.postMessage({ kind: 'result', id: req.id, error: serializeError(err) } satisfies DetectionReply);
    return;
  }
  port.postMessage({ kind: 'result', id: req.id, result } satisfies DetectionReply);
});
port.postMessage({ kind: 'ready' } satisfies DetectionReply);
