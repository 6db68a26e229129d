/**
 * Durable appends through the LedgerAppender (group commit) over the real SqlLedgerStorage, as
 * the recorder issues them: one append per decision, many in flight. The baseline writes the
 * same bytes with plain 1000-row INSERTs, one transaction each, into a scratch table with no
 * tree and no index: what the storage costs before there is a ledger at all.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { LedgerAppender } from '../src/ledger/index.ts';
import type { Database } from '../src/store/schema.ts';
import { Store, resolveStoreLocation } from '../src/store/store.ts';
import type { PackedEntries } from './access-events.ts';
import { nowMs, pairedFigure, type Figure, type RunPair } from './figures.ts';
import { RUNS, type BenchContext } from './section.ts';

// The test database the e2e suites use; BENCH_POSTGRES_URL points elsewhere.
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Appends in flight at once: two batches' worth, so one fills while the other commits. */
const IN_FLIGHT = 2000;
const RAW_BATCH = 1000;
const RAW_TABLE = 'bench_raw_entries';

// A type alias, not an interface: withTables needs an index-signature-compatible record.
type RawTables = {
  [RAW_TABLE]: { idx: number; entry: Uint8Array };
};

export async function appendFigures(ctx: BenchContext, entries: PackedEntries): Promise<Figure[]> {
  const figures: Figure[] = [];
  const sqlite = await Store.open({ dialect: 'sqlite', file: join(ctx.tmpDir, 'append.db') });
  try {
    figures.push(appendFigure('SQLite', await measureStore(ctx, sqlite, entries, 'SQLite'), { on: 'value', op: '>=', bound: 50_000 }));
  } finally {
    await sqlite.close();
  }

  const schema = `bench_${randomBytes(6).toString('hex')}`;
  let postgres: Store;
  try {
    postgres = await Store.open(resolveStoreLocation({ store: `${POSTGRES_URL}?schema=${schema}` }));
  } catch (err) {
    // Without PostgreSQL the SQLite figures still stand; say why this one is missing.
    ctx.warn(`PostgreSQL appends not measured: ${(err as Error).message}`);
    return figures;
  }
  try {
    const runs = await measureStore(ctx, postgres, entries, 'PostgreSQL');
    figures.push(appendFigure('PostgreSQL', runs));
  } finally {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(postgres.db);
    await postgres.close();
  }
  return figures;
}

interface AppendRuns {
  runs: RunPair[];
  meanBatch: number;
  perRun: number;
}

function appendFigure(dialect: string, r: AppendRuns, target?: { on: 'value'; op: '>='; bound: number }): Figure {
  return pairedFigure({
    section: 'ledger',
    name: `durable appends, ${dialect}`,
    unit: 'entries/s',
    baselineName: `plain ${RAW_BATCH}-row INSERTs, no tree`,
    runs: r.runs,
    ...(target ? { target } : {}),
    note: `${dialect}: LedgerAppender over SqlLedgerStorage, up to ${IN_FLIGHT} appends in flight, mean batch ${r.meanBatch.toFixed(0)} entries, timed until the access-event index has projected them all; one ledger transaction per batch on both sides; the runs append to the same store, which grows by ${r.perRun.toLocaleString('en-US')} entries each`,
  });
}

async function measureStore(ctx: BenchContext, store: Store, entries: PackedEntries, label: string): Promise<AppendRuns> {
  let batches = 0;
  let batched = 0;
  const appender = await LedgerAppender.open(store.ledger, {
    onCommitted: (_start, committed) => {
      batches++;
      batched += committed.length;
    },
  });
  const raw = await createRawTable(store);
  const runs: RunPair[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const appendsPerSecond = await appendAll(appender, entries, () => store.eventIndex.catchUp());
      const insertsPerSecond = await insertRaw(raw, entries, i * entries.length);
      ctx.log(`ledger: ${label} run ${i + 1}/${RUNS}: ${appendsPerSecond.toFixed(0)} appends/s; plain inserts ${insertsPerSecond.toFixed(0)} rows/s`);
      runs.push({ value: appendsPerSecond, baseline: insertsPerSecond });
    }
  } finally {
    await appender.close();
  }
  return { runs, meanBatch: batched / Math.max(1, batches), perRun: entries.length };
}

/**
 * Every entry appended on its own, at most IN_FLIGHT awaiting durability at a time. The clock
 * stops only once the access-event index holds them all too (`indexed`): the index is projected
 * after the ledger commits, and work left for after the run would flatter the figure.
 */
async function appendAll(appender: LedgerAppender, entries: PackedEntries, indexed: () => Promise<void>): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < entries.length) await appender.append(entries.at(next++));
  };
  const start = nowMs();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await indexed();
  return entries.length / ((nowMs() - start) / 1000);
}

type RawDb = Kysely<Database & RawTables>;

async function createRawTable(store: Store): Promise<RawDb> {
  await store.db.schema
    .createTable(RAW_TABLE)
    .ifNotExists()
    .addColumn('idx', 'bigint', (c) => c.primaryKey())
    .addColumn('entry', store.dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
    .execute();
  return store.db.withTables<RawTables>();
}

async function insertRaw(db: RawDb, entries: PackedEntries, firstIdx: number): Promise<number> {
  const start = nowMs();
  for (let i = 0; i < entries.length; i += RAW_BATCH) {
    const rows = entries.slice(i, i + RAW_BATCH).map((entry, j) => ({ idx: firstIdx + i + j, entry }));
    await db.transaction().execute((tx) => tx.insertInto(RAW_TABLE).values(rows).execute());
  }
  return entries.length / ((nowMs() - start) / 1000);
}
