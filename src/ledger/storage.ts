/**
 * What the ledger needs from a store. The ledger library never writes SQL: the store
 * module implements this interface (SQLite and PostgreSQL), tests use the in-memory one.
 *
 * Layout: every complete, aligned subtree hash is stored as a node (level, index),
 * covering leaves [index * 2^level, (index + 1) * 2^level). Level 0 holds leaf hashes.
 * Any RFC 9162 subtree hash for any tree size is then a combination of O(log n) stored
 * nodes, so proofs never rehash the log.
 */
export interface NodeKey {
  level: number;
  index: number;
}

export interface StoredNode extends NodeKey {
  hash: Uint8Array;
}

export interface StoredEntry {
  index: number;
  entry: Uint8Array;
}

export interface StoredCheckpoint {
  size: number;
  /** The full signed note text (checkpoint body, blank line, signature lines). */
  note: string;
  /** When it was signed, RFC 3339. */
  signedAt: string;
}

export interface LedgerStorage {
  /** Number of entries durably stored (the next index to append). */
  size(): Promise<number>;
  /**
   * Atomically append entries at indexes [start, start + entries.length) together with the
   * complete-subtree nodes that the batch completes. Must fail if `start` is not the current size.
   */
  appendBatch(start: number, entries: Uint8Array[], nodes: StoredNode[]): Promise<void>;
  /**
   * Optional, for storages several processes append to: append at whatever the size is once
   * this writer holds the log's sequencer. `place(size)` returns the nodes the batch completes
   * at that size; resolves with the batch's first index once durable.
   */
  appendSequenced?(entries: Uint8Array[], place: (size: number) => Promise<StoredNode[]>): Promise<number>;
  /** Stored node hashes in the order asked; throws if any is missing. */
  getNodes(keys: NodeKey[]): Promise<Uint8Array[]>;
  /** Entries with from <= index < to, in index order, streamed. */
  readEntries(from: number, to: number): AsyncIterable<StoredEntry>;
  /**
   * Optional: the same entries as readEntries, in arrays of at most `batchSize`, in index order.
   * Verification reads the whole log; one promise per batch instead of per entry makes it
   * markedly faster. verifyLedger falls back to readEntries when this is absent.
   */
  readEntryBatches?(from: number, to: number, batchSize: number): AsyncIterable<StoredEntry[]>;
  saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Every stored checkpoint, by size ascending. */
  listCheckpoints(): AsyncIterable<StoredCheckpoint>;
}
