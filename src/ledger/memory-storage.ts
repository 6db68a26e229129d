/**
 * LedgerStorage in memory: for tests and as the benchmark baseline. Behaves like the SQL
 * storage where it matters (start checked on append, missing nodes are an IntegrityError,
 * a checkpoint already saved at a size is kept). The `tamper…` methods exist only so tests
 * can prove that verification notices what an attacker with database access could do.
 */
import { ConflictError, IntegrityError } from '../errors.ts';
import type { LedgerStorage, NodeKey, StoredCheckpoint, StoredEntry, StoredNode } from './storage.ts';

export class MemoryLedgerStorage implements LedgerStorage {
  // Holes stand for deleted entries; like SQL max(idx) + 1, the size is the last present index + 1.
  private readonly entries: (Uint8Array | undefined)[] = [];
  private readonly levels: Uint8Array[][] = [];
  private readonly checkpoints = new Map<number, StoredCheckpoint>();

  async size(): Promise<number> {
    return this.entries.length;
  }

  async appendBatch(start: number, entries: Uint8Array[], nodes: StoredNode[]): Promise<void> {
    if (start !== this.entries.length) throw new ConflictError(`ledger append at ${start} but the log holds ${this.entries.length} entries`);
    // Copies (as Buffers, like the SQL drivers return): callers may reuse their buffers.
    for (const entry of entries) this.entries.push(Buffer.from(entry));
    for (const node of nodes) {
      const level = (this.levels[node.level] ??= []);
      level[node.index] = Buffer.from(node.hash);
    }
  }

  async getNodes(keys: NodeKey[]): Promise<Uint8Array[]> {
    return keys.map((k) => {
      const hash = this.levels[k.level]?.[k.index];
      if (!hash) throw new IntegrityError(`ledger node level ${k.level} index ${k.index} is missing from the store`);
      return hash;
    });
  }

  async *readEntries(from: number, to: number): AsyncIterable<StoredEntry> {
    const end = Math.min(to, this.entries.length);
    for (let index = from; index < end; index++) {
      const entry = this.entries[index];
      if (entry) yield { index, entry };
    }
  }

  async *readEntryBatches(from: number, to: number, batchSize: number): AsyncIterable<StoredEntry[]> {
    const end = Math.min(to, this.entries.length);
    let batch: StoredEntry[] = [];
    for (let index = from; index < end; index++) {
      const entry = this.entries[index];
      if (entry) batch.push({ index, entry });
      if (batch.length === batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    if (!this.checkpoints.has(checkpoint.size)) this.checkpoints.set(checkpoint.size, { ...checkpoint });
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.sortedCheckpoints().at(-1);
  }

  async *listCheckpoints(): AsyncIterable<StoredCheckpoint> {
    yield* this.sortedCheckpoints();
  }

  private sortedCheckpoints(): StoredCheckpoint[] {
    return [...this.checkpoints.values()].sort((a, b) => a.size - b.size);
  }

  /** Test only: overwrite an entry's bytes, leaving the tree as it was. */
  tamperEntry(index: number, entry: Uint8Array): void {
    this.entries[index] = Buffer.from(entry);
  }

  /** Test only: delete an entry, as a DELETE on the entries table would. */
  deleteEntry(index: number): void {
    delete this.entries[index];
    while (this.entries.length > 0 && this.entries[this.entries.length - 1] === undefined) this.entries.pop();
  }

  /** Test only: exchange two entries' bytes. */
  swapEntries(i: number, j: number): void {
    const a = this.entries[i];
    this.entries[i] = this.entries[j];
    this.entries[j] = a;
  }

  /** Test only: overwrite a stored node hash. */
  tamperNode(key: NodeKey, hash: Uint8Array): void {
    (this.levels[key.level] ??= [])[key.index] = Buffer.from(hash);
  }

  /** Test only: replace (or add) the checkpoint stored at a size. */
  tamperCheckpoint(checkpoint: StoredCheckpoint): void {
    this.checkpoints.set(checkpoint.size, { ...checkpoint });
  }

  /** Test only: drop a stored checkpoint. */
  deleteCheckpoint(size: number): void {
    this.checkpoints.delete(size);
  }
}
