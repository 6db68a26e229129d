/**
 * Leaf hashing on a second thread, for verifying long logs. Reading entries and rebuilding the
 * tree stay on the caller's thread; a batch's leaf hashes are computed in the worker while the
 * next batch is read, so the two overlap. Each batch crosses as one packed buffer each way.
 */
import { Worker } from 'node:worker_threads';
import { HASH_SIZE, leafHash } from './merkle.ts';
import { packEntries } from './packed-entries.ts';

const BOOT = new URL('../worker-boot.mjs', import.meta.url);
const WORKER_MODULE = new URL('./leaf-hash-worker.ts', import.meta.url).href;

export interface LeafHashRequest {
  id: number;
  /** The batch's entries back to back; entry i is bytes[offsets[i], offsets[i + 1]). */
  bytes: ArrayBuffer;
  offsets: Uint32Array;
}

export interface LeafHashReply {
  /** 0: the worker is ready. */
  id: number;
  /** 32 bytes per entry, in order. */
  hashes: ArrayBuffer;
}

export interface LeafHasher {
  hash(entries: readonly Uint8Array[]): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/** On the caller's thread: for short logs, where starting a worker costs more than it saves. */
export const localLeafHasher: LeafHasher = {
  hash: async (entries) => entries.map(leafHash),
  close: async () => {},
};

export class WorkerLeafHasher implements LeafHasher {
  private readonly pending = new Map<number, { resolve(h: Uint8Array[]): void; reject(err: unknown): void; count: number }>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', ({ id, hashes }: LeafHashReply) => {
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      const out: Uint8Array[] = [];
      for (let i = 0; i < p.count; i++) out.push(new Uint8Array(hashes, i * HASH_SIZE, HASH_SIZE));
      p.resolve(out);
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the leaf-hash worker stopped (exit code ${code})`)));
  }

  static async start(): Promise<WorkerLeafHasher> {
    const worker = new Worker(BOOT, { workerData: { module: WORKER_MODULE } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new WorkerLeafHasher(worker);
  }

  hash(entries: readonly Uint8Array[]): Promise<Uint8Array[]> {
    if (this.failure) return Promise.reject(this.failure);
    const { bytes, offsets } = packEntries(entries);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, count: entries.length });
      this.worker.postMessage({ id, bytes: bytes.buffer, offsets } satisfies LeafHashRequest, [bytes.buffer, offsets.buffer]);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the leaf hasher is closed');
    await this.worker.terminate();
  }
}
