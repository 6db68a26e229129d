/**
 * Leaf hashing on a second thread, for verifying long logs. Reading entries and rebuilding the
 * tree stay on the caller's thread; a batch's leaf hashes are computed in the worker while the
 * next batch is read, so the two overlap. Each batch crosses as one packed buffer each way.
 */
import { WorkerRpc } from '../worker-rpc.ts';
import { HASH_SIZE, leafHash } from './merkle.ts';
import { packEntries } from './packed-entries.ts';

const WORKER_MODULE = new URL('./leaf-hash-worker.ts', import.meta.url);

export interface LeafHashRequest {
  kind: 'hash';
  id: number;
  /** The batch's entries back to back; entry i is bytes[offsets[i], offsets[i + 1]). */
  bytes: ArrayBuffer;
  offsets: Uint32Array;
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
  private constructor(private readonly rpc: WorkerRpc) {}

  static async start(): Promise<WorkerLeafHasher> {
    const rpc = new WorkerRpc('leaf-hash worker', WORKER_MODULE, {}, () => {});
    await rpc.start();
    return new WorkerLeafHasher(rpc);
  }

  async hash(entries: readonly Uint8Array[]): Promise<Uint8Array[]> {
    const { bytes, offsets } = packEntries(entries);
    const request: Omit<LeafHashRequest, 'id'> = { kind: 'hash', bytes: bytes.buffer, offsets };
    // 32 bytes per entry, in order.
    const hashes = (await this.rpc.call(request, [bytes.buffer, offsets.buffer])) as ArrayBuffer;
    const out: Uint8Array[] = [];
    for (let i = 0; i < entries.length; i++) out.push(new Uint8Array(hashes, i * HASH_SIZE, HASH_SIZE));
    return out;
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}
