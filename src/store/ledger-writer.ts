/**
 * The SQLite ledger's batches are written on a worker thread with a connection of its own
 * (ledger-writer-worker.ts). better-sqlite3 is synchronous: on the request thread every
 * group-commit batch held the event loop for its inserts and the WAL fsync, a sixth of a
 * guarded reveal's time under load. Reads stay on the store's connection: in WAL mode they see
 * each batch once it commits, and never wait for the writer.
 */
import { packEntries } from '../ledger/packed-entries.ts';
import type { StoredCheckpoint, StoredNode } from '../ledger/storage.ts';
import { WorkerRpc } from '../worker-rpc.ts';

const WORKER_MODULE = new URL('./ledger-writer-worker.ts', import.meta.url);

export interface LedgerWriterData {
  /** The ledger's file (ledger-file.ts), which the worker writes. */
  ledgerFile: string;
  /** The records' file (custos.db), whose WAL the worker truncates when asked. */
  recordsFile: string;
}

/** One batch, packed into transferable buffers: entries back to back, node hashes 32 bytes each. */
export interface WriteBatchRequest {
  kind: 'writeBatch';
  id: number;
  start: number;
  entries: ArrayBuffer;
  /** Entry i is entries[offsets[i], offsets[i + 1]). */
  offsets: Uint32Array;
  nodeHashes: ArrayBuffer;
  /** (level, index) per node. */
  nodeKeys: Float64Array;
}

/** A signed checkpoint to store (kept if one of that size is already stored). */
export interface SaveCheckpointRequest {
  kind: 'saveCheckpoint';
  id: number;
  checkpoint: StoredCheckpoint;
}

/** SQLite's answer to PRAGMA wal_checkpoint: busy = 1 when readers or a writer kept it from finishing. */
export interface WalCheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

export class LedgerWriter {
  private readonly rpc: WorkerRpc;

  constructor(ledgerFile: string, recordsFile: string, onError: (err: unknown) => void = () => {}) {
    this.rpc = new WorkerRpc('ledger writer', WORKER_MODULE, { ledgerFile, recordsFile } satisfies LedgerWriterData, onError);
  }

  /** Start the worker before the first batch needs it. */
  start(): Promise<void> {
    return this.rpc.start();
  }

  async writeBatch(start: number, entries: readonly Uint8Array[], nodes: readonly StoredNode[]): Promise<void> {
    const { bytes, offsets } = packEntries(entries);
    const nodeHashes = new Uint8Array(32 * nodes.length);
    const nodeKeys = new Float64Array(2 * nodes.length);
    nodes.forEach((n, i) => {
      nodeHashes.set(n.hash, 32 * i);
      nodeKeys[2 * i] = n.level;
      nodeKeys[2 * i + 1] = n.index;
    });
    const request: Omit<WriteBatchRequest, 'id'> = { kind: 'writeBatch', start, entries: bytes.buffer, offsets, nodeHashes: nodeHashes.buffer, nodeKeys };
    await this.rpc.call(request, [bytes.buffer, offsets.buffer, nodeHashes.buffer, nodeKeys.buffer]);
  }

  /**
   * Here rather than on the request thread: storing takes the ledger file's write lock, which a
   * batch may hold, and waits for its own fsync; the event loop would stall for both.
   */
  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    await this.rpc.call({ kind: 'saveCheckpoint', checkpoint } satisfies Omit<SaveCheckpointRequest, 'id'>);
  }

  /**
   * Copy the records file's WAL into it and truncate the WAL to nothing, so no earlier frame of
   * a page (a deleted customer's row, say) survives in it. `busy` answers mean a reader held on.
   */
  async truncateWal(): Promise<WalCheckpointResult> {
    return (await this.rpc.call({ kind: 'truncateWal' })) as WalCheckpointResult;
  }

  close(): Promise<void> {
    return this.rpc.close({ kind: 'close' });
  }
}
