/**
 * The access-event index as the rest of the store sees it: something that follows the ledger
 * (EventIndex) and answers queries by actor, by customer and by time (AccessEventQueries).
 *
 * PostgreSQL keeps the index in its own database and projects on the pool. The embedded SQLite
 * store keeps it in a file of its own beside the ledger's, written by a worker thread
 * (event-index-worker.ts): SQLite has one writer per file, and index pages are scattered enough
 * that projecting them on the request thread, or in the ledger's file, stalls reveals.
 */
import { sql, type Kysely } from 'kysely';
import type { AccessAction, Decision, RecordedEvent } from '../model.ts';
import type { ExposureCursor, ExposurePage } from './exposures.ts';

export interface EventQuery {
  /** Inclusive lower bound, RFC 3339. */
  from?: string;
  /** Exclusive upper bound, RFC 3339. */
  to?: string;
  /** Return only events with seq greater than this (keyset paging). */
  afterSeq?: number;
  /** Only events of these actions (the index's own column: no entry is read for the others). */
  actions?: readonly AccessAction[];
  /** Only events with this decision. */
  decision?: Decision;
  limit: number;
}

/** Reads of the index. Each first catches the index up, so it never misses a committed event. */
export interface AccessEventQueries {
  byActor(actor: string, q: EventQuery): Promise<RecordedEvent[]>;
  byCustomer(customer: string, q: EventQuery): Promise<RecordedEvent[]>;
  byTime(q: EventQuery): Promise<RecordedEvent[]>;
  /** How many events of this kind an actor has since `since` (reveal budgets). */
  countSince(actor: string, action: AccessAction, decision: Decision, since: string): Promise<number>;
  /** Allowed-event times per actor since `since`: seeds the broker's in-memory budgets at start. */
  countsByActorSince(action: AccessAction, decision: Decision, since: string): Promise<Array<{ actor: string; timeMs: number }>>;
  /** The actor's exposures (allowed reveals and exports that returned fields) in the window, from the index alone; at most `limit` events a page. */
  exposuresByActor(actor: string, q: ExposureQuery): Promise<ExposurePage>;
  /** Exposures of any of `customers` (a few hundred ids at most), from the index alone; at most `limit` rows a page. */
  exposuresByCustomers(customers: readonly string[], q: ExposureQuery): Promise<ExposurePage>;
}

export interface ExposureQuery {
  /** Inclusive lower bound, RFC 3339. */
  from?: string;
  /** Exclusive upper bound, RFC 3339. */
  to?: string;
  /** The previous page's `next`. */
  after?: ExposureCursor;
  limit: number;
}

export interface EventIndex {
  /** Resolves once the index can project and answer (SQLite: its worker thread is up). */
  ready(): Promise<void>;
  /** The ledger committed entries up to `size`: project them soon, in bulk. */
  noteAppended(size: number): void;
  /** Project every entry the ledger has committed by now. */
  catchUp(): Promise<void>;
  /** The next ledger index the index has not projected (no catching up first). */
  indexedThrough(): Promise<number>;
  /** Forget every index row and project the whole ledger again. */
  rebuild(): Promise<void>;
  /** Stop following; what is left is projected on the next start. */
  close(): Promise<void>;
}

export interface ProjectionOptions {
  /** Project once this many committed entries wait; default 10,000. */
  maxLag?: number;
  /** ...or once the oldest waiting entry has waited this long; default 200 ms. */
  maxDelayMs?: number;
  /** Entries per projection transaction; default 10,000. */
  chunk?: number;
  /** Failures of a background pass (a later read retries, and fails loudly itself). */
  onError?: (err: unknown) => void;
}

/**
 * The SQLite index file's tables and their watermark row (PostgreSQL's come from migrations 0002
 * and 0011). Besides the keys queries select by, each event row holds what a blast radius or an
 * attribution counts (its customers, the fields it returned, its purpose), so those answer from
 * the index alone; anything else is read back from the ledger entry.
 */
export async function createIndexTables(db: Kysely<any>): Promise<void> {
  const big = 'integer';
  await db.schema
    .createTable('access_events')
    .addColumn('seq', big, (c) => c.primaryKey())
    .addColumn('time_ms', big, (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('customers', 'text', (c) => c.notNull())
    .addColumn('fields', big, (c) => c.notNull())
    .addColumn('fields_extra', 'text')
    .addColumn('purpose_kind', 'text')
    .addColumn('purpose_ref', 'text')
    .execute();
  await db.schema.createIndex('access_events_actor_time').on('access_events').columns(['actor', 'time_ms']).execute();
  await db.schema.createIndex('access_events_time').on('access_events').column('time_ms').execute();
  let links = db.schema
    .createTable('access_event_customers')
    .addColumn('customer', 'text', (c) => c.notNull())
    .addColumn('seq', big, (c) => c.notNull())
    .addColumn('time_ms', big, (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('exposed', big, (c) => c.notNull())
    .addColumn('exposed_extra', 'text')
    .addColumn('purpose_kind', 'text')
    .addColumn('purpose_ref', 'text')
    .addPrimaryKeyConstraint('access_event_customers_pk', ['customer', 'seq']);
  // The primary key is the table (no separate rowid B-tree to update per row).
  links = links.modifyEnd(sql`without rowid`);
  await links.execute();
  await db.schema
    .createTable('access_event_fields')
    .addColumn('bit', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .execute();
  await db.schema
    .createTable('access_event_projection')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('next_seq', big, (c) => c.notNull())
    .execute();
  await db.insertInto('access_event_projection').values({ id: 1, next_seq: 0 }).execute();
}
