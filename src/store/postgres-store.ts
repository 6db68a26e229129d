/**
 * The scaled dialect: every table in one PostgreSQL schema, reached through a pool. Loaded only
 * for a postgres:// store, so the embedded shape never loads the driver.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { UnavailableError } from '../errors.ts';
import type { Database } from './schema.ts';
import { CustomerRepository } from './customers.ts';
import { EmployeeRepository } from './employees.ts';
import { CaseRepository } from './cases.ts';
import { AccessEventRepository } from './access-events.ts';
import { PostgresLedgerStorage } from './ledger-storage.ts';
import { AccessEventProjection, insertIndexRows } from './access-event-projection.ts';
import { PostgresBudgetCounter } from './budgets.ts';
import { PostgresNoticeOutbox } from './notice-outbox.ts';
import { PostgresAlertStore } from './alerts.ts';
import { PostgresIncidentStore } from './incidents.ts';
import { redactUrl, type StoreOptions, type StoreParts } from './store.ts';

// int8 columns (ledger indexes, seq) fit in a double for any realistic log; read them as numbers.
pg.types.setTypeParser(20, (v: string) => Number(v));

export async function openPostgresStore(location: { url: string; schema?: string }, options: StoreOptions): Promise<StoreParts> {
  const pool = new pg.Pool({
    connectionString: location.url,
    max: 10,
    // A process that hangs (not dies) inside a transaction, e.g. holding the ledger's
    // sequencer, is cut off after 10 s so the others go on; Custos's transactions are
    // never idle that long.
    options: `-c idle_in_transaction_session_timeout=10000${location.schema ? ` -c search_path=${location.schema}` : ''}`,
  });
  pool.on('error', () => {
    /* idle client errors surface on the next query */
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (location.schema) await db.schema.createSchema(location.schema).ifNotExists().execute();
  } catch (err) {
    await db.destroy();
    throw new UnavailableError(`cannot reach PostgreSQL at ${redactUrl(location.url)}: ${(err as Error).message}`);
  }
  const shredIncomplete = options.onShredIncomplete ?? (() => {});
  const ledger = new PostgresLedgerStorage(db);
  const projection = new AccessEventProjection(db, insertIndexRows, ledger, options.eventIndex);
  return {
    db,
    customers: new CustomerRepository(db, undefined, () => vacuumCustomers(pool, shredIncomplete)),
    employees: new EmployeeRepository(db, undefined),
    cases: new CaseRepository(db, undefined),
    ledger,
    eventIndex: projection,
    accessEvents: new AccessEventRepository(db, projection),
    budgets: new PostgresBudgetCounter(db),
    noticeOutbox: new PostgresNoticeOutbox(db),
    alerts: new PostgresAlertStore(db),
    incidents: new PostgresIncidentStore(db),
    afterMigrations: async () => {},
    warmUp: () => projection.ready(),
    closeBackground: () => projection.close(),
  };
}

/**
 * After a customer's delete on PostgreSQL: vacuum the dead tuple and its index entries now
 * rather than at autovacuum's leisure (README "Keys" says what still remains). PostgreSQL skips
 * a table the role does not own with only a warning, so the notices are read too.
 */
async function vacuumCustomers(pool: pg.Pool, shredIncomplete: (why: string) => void): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    shredIncomplete(`VACUUM customers did not run: ${(err as Error).message}`);
    return;
  }
  const notices: string[] = [];
  const onNotice = (notice: { message?: string }) => notices.push(notice.message ?? '');
  client.on('notice', onNotice);
  try {
    await client.query('VACUUM (INDEX_CLEANUP ON) customers');
    const skipped = notices.find((m) => /skipping/i.test(m));
    if (skipped) shredIncomplete(`VACUUM customers was skipped: ${skipped}`);
  } catch (err) {
    shredIncomplete(`VACUUM customers failed: ${(err as Error).message}`);
  } finally {
    client.off('notice', onNotice);
    client.release();
  }
}

