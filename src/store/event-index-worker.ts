/**
 * The SQLite store's access-event index, in a worker thread (event-index.ts says why).
 *
 * Its connection opens the index file and attaches the ledger's file, where it only ever reads
 * ledger_entries (a WAL reader never blocks the ledger's writer). The projection and the
 * queries are the same code PostgreSQL runs in process; this file only carries messages. The index file holds nothing the ledger does not: when its layout version
 * differs from this code's, it is emptied and rebuilt.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { AccessEventProjection, preparedIndexRowWriter } from './access-event-projection.ts';
import { AccessEventRepository } from './access-events.ts';
import { createIndexTables, type ProjectionOptions } from './event-index.ts';
import { serializeError } from '../worker-rpc.ts';
import type { IndexReply, IndexRequest, IndexWorkerData } from './event-index-protocol.ts';
import { SqliteLedgerStorage } from './ledger-storage.ts';
import type { Database } from './schema.ts';

/**
 * Bump when the index tables change: older index files are then rebuilt from the ledger.
 * 2: event rows hold their customers, fields and purpose (blast radius and attribution read no entry).
 */
const INDEX_LAYOUT_VERSION = 2;

const port = parentPort;
if (!port) throw new Error('event-index-worker.ts runs only as a worker thread');
const data = workerData as IndexWorkerData;

const sqlite = new BetterSqlite3(data.indexFile);
sqlite.pragma('journal_mode = WAL');
// NORMAL: a crash may lose the last index commits, never corrupt them; the watermark is in the
// same transactions as the rows, and the ledger has every entry to project again.
sqlite.pragma('synchronous = NORMAL');
sqlite.pragma('busy_timeout = 5000');
sqlite.pragma('cache_size = -65536');
const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });

async function prepareLayout(): Promise<void> {
  if (Number(sqlite.pragma('user_version', { simple: true })) === INDEX_LAYOUT_VERSION) return;
  sqlite.exec('BEGIN IMMEDIATE');
  try {
    for (const table of ['access_event_customers', 'access_events', 'access_event_fields', 'access_event_projection']) sqlite.exec(`DROP TABLE IF EXISTS main.${table}`);
    await createIndexTables(db);
    sqlite.pragma(`user_version = ${INDEX_LAYOUT_VERSION}`);
    sqlite.exec('COMMIT');
  } catch (err) {
    sqlite.exec('ROLLBACK');
    throw err;
  }
}

const options: ProjectionOptions = {
  ...data.options,
  onError: (err) => port.postMessage({ kind: 'background-error', error: serializeError(err) } satisfies IndexReply),
};
// Unqualified, ledger_entries resolves to the attached ledger: the index file has no such table.
const projection = new AccessEventProjection(db, preparedIndexRowWriter(sqlite), new SqliteLedgerStorage(db, sqlite), options);
const queries = new AccessEventRepository(db, projection);

/**
 * The ledger's WAL is copied into its file from this thread, every LEDGER_CHECKPOINT_MS. Left to
 * SQLite's automatic checkpoint (every 1,000 WAL pages, some sixty batches under load), the copy
 * and its fsync ran on the writer thread inside a batch's commit, and every reveal waiting on
 * that batch waited for them too. PASSIVE: it never waits for the writer or a reader; the
 * writer's automatic checkpoint stays as the bound on the WAL, and finds little left to copy.
 */
const LEDGER_CHECKPOINT_MS = 200;

let ledgerCheckpoints: NodeJS.Timeout | undefined;

const checkpointLedger = (): void => {
  // Not inside a projection's transaction (kysely runs it on this connection between awaits).
  if (sqlite.inTransaction) return;
  try {
    sqlite.pragma('ledger.wal_checkpoint(PASSIVE)');
  } catch (err) {
    port.postMessage({ kind: 'background-error', error: serializeError(err) } satisfies IndexReply);
  }
};

async function handle(req: Exclude<IndexRequest, { kind: 'appended' }>): Promise<unknown> {
  switch (req.kind) {
    case 'catchUp':
      return projection.catchUp();
    case 'indexedThrough':
      return projection.indexedThrough();
    case 'rebuild':
      return projection.rebuild();
    case 'close':
      // Else a checkpoint due after the connection closed reports it as a failure.
      clearInterval(ledgerCheckpoints);
      await projection.close();
      await db.destroy();
      return undefined;
    case 'query': {
      const method = queries[req.method] as (...args: unknown[]) => Promise<unknown>;
      return method.apply(queries, req.args);
    }
  }
}

try {
  // Before attaching the ledger: BEGIN IMMEDIATE locks every attached database, and the ledger's
  // writer must never wait on this thread.
  await prepareLayout();
  sqlite.prepare('ATTACH DATABASE ? AS ledger').run(data.ledgerFile);
  // Queries read events back from ledger entries, scattered over the whole file (a blast radius,
  // an attribution): the same page cache as the index's own, and reads through memory-mapped
  // files rather than a system call per page (SQLite caps the size at its compiled maximum).
  sqlite.pragma('ledger.cache_size = -65536');
  sqlite.pragma('ledger.mmap_size = 17179869184');
  sqlite.pragma('mmap_size = 17179869184');
  ledgerCheckpoints = setInterval(checkpointLedger, LEDGER_CHECKPOINT_MS);
  ledgerCheckpoints.unref();
  port.postMessage({ kind: 'ready' } satisfies IndexReply);
} catch (err) {
  port.postMessage({ kind: 'failed', error: serializeError(err) } satisfies IndexReply);
  process.exit(1);
}

port.on('message', (req: IndexRequest) => {
  if (req.kind === 'appended') {
    projection.noteAppended(req.size);
    return;
  }
  handle(req).then(
    (result) => port.postMessage({ kind: 'result', id: req.id, result } satisfies IndexReply),
    (err: unknown) => port.postMessage({ kind: 'result', id: req.id, error: serializeError(err) } satisfies IndexReply),
  );
});
