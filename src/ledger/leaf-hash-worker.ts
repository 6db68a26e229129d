/** Leaf hashes for verification, in a worker thread (leaf-hasher.ts). */
import { parentPort } from 'node:worker_threads';
import type { WorkerReply } from '../worker-rpc.ts';
import type { LeafHashRequest } from './leaf-hasher.ts';
import { HASH_SIZE, leafHash } from './merkle.ts';

const port = parentPort;
if (!port) throw new Error('leaf-hash-worker.ts runs only as a worker thread');

port.on('message', ({ id, bytes, offsets }: LeafHashRequest) => {
  const data = new Uint8Array(bytes);
  const count = offsets.length - 1;
  const hashes = new Uint8Array(HASH_SIZE * count);
  for (let i = 0; i < count; i++) hashes.set(leafHash(data.subarray(offsets[i], offsets[i + 1])), i * HASH_SIZE);
  port.postMessage({ kind: 'result', id, result: hashes.buffer } satisfies WorkerReply, [hashes.buffer]);
});
port.postMessage({ kind: 'ready' } satisfies WorkerReply);
