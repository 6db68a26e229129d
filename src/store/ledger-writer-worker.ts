/**
 * The SQLite ledger's writer, in a worker thread (ledger-writer.ts says why). Each request is
 * one batch: its entries and the tree nodes they complete, in one IMMEDIATE transaction on this
 * thread's own connection to the ledger's file (ledger-file.ts), durable (synchronous = FULL)
 * before the answer goes back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { ConflictError } from '../errors.ts';
import { ledgerPragmas } from './ledger-file.ts';
import type { LedgerWriterData, SaveCheckpointRequest, WalCheckpointResult, WriteBatchRequest } from './ledger-writer.ts';
import { serializeError, type WorkerReply } from '../worker-rpc.ts';

const port = parentPort;
if (!port) throw new Error('ledger-writer-worker.ts runs only as a worker thread');
const { ledgerFile, recordsFile } = workerData as LedgerWriterData;

// Waiting for another writer's lock blocks this thread only, never a request.
const BUSY_TIMEOUT = 'busy_timeout = 5000';
const sqlite = new BetterSqlite3(ledgerFile);
sqlite.pragma(BUSY_TIMEOUT);
ledgerPragmas(sqlite, 'main');
/** Opened on the first truncation asked for: most processes never delete a customer. */
let records: BetterSqlite3.Database | undefined;

const lastIndex = sqlite.prepare('SELECT max(idx) AS last FROM ledger_entries');
const insertEntry = sqlite.prepare('INSERT INTO ledger_entries (idx, entry) VALUES (?, ?)');
const insertNode = sqlite.prepare('INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)');
const insertCheckpoint = sqlite.prepare('INSERT INTO ledger_checkpoints (size, note, signed_at) VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING');

const writeBatch = sqlite.transaction((req: WriteBatchRequest) => {
  const last = (lastIndex.get() as { last: number | null }).last;
  const size = last === null ? 0 : last + 1;
  if (size !== req.start) throw new ConflictError(`ledger append at ${req.start} but the log holds ${size} entries`);
  const bytes = Buffer.from(req.entries);
  for (let i = 0; i + 1 < req.offsets.length; i++) insertEntry.run(req.start + i, bytes.subarray(req.offsets[i], req.offsets[i + 1]));
  const hashes = Buffer.from(req.nodeHashes);
  for (let i = 0; 2 * i < req.nodeKeys.length; i++) insertNode.run(req.nodeKeys[2 * i], req.nodeKeys[2 * i + 1], hashes.subarray(32 * i, 32 * i + 32));
});

port.on('message', (req: WriteBatchRequest | SaveCheckpointRequest | { kind: 'close'; id: number } | { kind: 'truncateWal'; id: number }) => {
  if (req.kind === 'close') {
    sqlite.close();
    records?.close();
    port.postMessage({ kind: 'result', id: req.id } satisfies WorkerReply);
    return;
  }
  if (req.kind === 'truncateWal') {
    // Here, not on the request thread: waiting for readers to leave the WAL (busy_timeout)
    // blocks this thread only, and never interleaves with a batch.
    try {
      if (!records) {
        records = new BetterSqlite3(recordsFile);
        records.pragma(BUSY_TIMEOUT);
      }
      const [result] = records.pragma('wal_checkpoint(TRUNCATE)') as WalCheckpointResult[];
      port.postMessage({ kind: 'result', id: req.id, result } satisfies WorkerReply);
    } catch (err) {
      port.postMessage({ kind: 'result', id: req.id, error: serializeError(err) } satisfies WorkerReply);
    }
    return;
  }
  if (req.kind === 'saveCheckpoint') {
    try {
      insertCheckpoint.run(req.checkpoint.size, req.checkpoint.note, req.checkpoint.signedAt);
      port.postMessage({ kind: 'result', id: req.id } satisfies WorkerReply);
    } catch (err) {
      port.postMessage({ kind: 'result', id: req.id, error: serializeError(err) } satisfies WorkerReply);
    }
    return;
  }
  try {
    // IMMEDIATE: the write lock is taken first, so a busy store is waited for, not failed.
    writeBatch.immediate(req);
    port.postMessage({ kind: 'result', id: req.id } satisfies WorkerReply);
  } catch (err) {
    // Two writers that read the same size race to the same index; the loser learns it here.
    const code = (err as { code?: string }).code;
    const reported = code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ? new ConflictError(`another writer appended at ${req.start} first`) : err;
    port.postMessage({ kind: 'result', id: req.id, error: serializeError(reported) } satisfies WorkerReply);
  }
});
port.postMessage({ kind: 'ready' } satisfies WorkerReply);
