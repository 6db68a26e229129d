import { afterAll, describe, expect, it } from 'vitest';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { openTestStore, postgresTarget, sqliteTarget, storeTargets, TEST_PG_URL } from '../../test/support/stores.ts';
import type { AccessEvent } from '../model.ts';
import type { ExposureQuery } from './event-index.ts';
import type { ExposurePage } from './exposures.ts';
import { migrationsFor } from './migrations.ts';
import { indexFileFor, Store } from './store.ts';
import { canonicalEventBytes } from './test-events.ts';

const at = (minute: number) => new Date(Date.parse('2026-11-01T10:00:00.000Z') + minute * 60_000).toISOString();
/** More field names than a mask holds: the last ones go to fields_extra. */
const MANY_FIELDS = Array.from({ length: 34 }, (_, i) => `f${String(i).padStart(2, '0')}`);

const EVENTS: AccessEvent[] = [
  { id: 'e0', time: at(0), actor: 'emp1', action: 'reveal', customers: ['c1'], fields: ['phone', 'email'], purpose: { kind: 'case', ref: 'k1' }, decision: 'allow' },
  { id: 'e1', time: at(1), actor: 'emp1', action: 'reveal', customers: ['c2'], fields: [], decision: 'deny', reason: 'purpose_not_linked' },
  { id: 'e2', time: at(2), actor: 'emp1', action: 'view', customers: ['c1'], fields: [], decision: 'allow' },
  { id: 'e3', time: at(3), actor: 'emp1', action: 'export', customers: ['c2', 'c3', 'c2'], fields: ['name'], decision: 'allow' },
  { id: 'e4', time: at(4), actor: 'emp2', action: 'reveal', customers: ['c1'], fields: ['email'], purpose: { kind: 'ticket', ref: 'T-1' }, decision: 'allow' },
  { id: 'e5', time: at(5), actor: 'emp1', action: 'reveal', customers: [], fields: ['email'], decision: 'allow' },
  { id: 'e6', time: at(6), actor: 'emp1', action: 'reveal', customers: ['c4'], fields: MANY_FIELDS, decision: 'allow' },
  { id: 'e7', time: at(7), actor: 'emp1', action: 'reveal', customers: ['[odd]'], fields: ['email'], decision: 'allow' },
];

/** A page's rows as plain values. */
function rowsOf(pages: ExposurePage[]): Array<{ seq: number; at: string; customer: string; actor: string; fields: string[]; purpose?: string }> {
  return pages.flatMap((p) =>
    Array.from({ length: p.length }, (_, i) => {
      const purpose = p.purpose[i]! < 0 ? undefined : p.purposes[p.purpose[i]!]!;
      return {
        seq: p.seq[i]!,
        at: new Date(p.timeMs[i]!).toISOString(),
        customer: p.customers[p.customer[i]!]!,
        actor: p.actors[p.actor[i]!]!,
        fields: p.fieldSets[p.fieldSet[i]!]!,
        ...(purpose ? { purpose: `${purpose.kind}:${purpose.ref}` } : {}),
      };
    }),
  );
}

async function allPages(ask: (q: ExposureQuery) => Promise<ExposurePage>, q: ExposureQuery): Promise<ExposurePage[]> {
  const pages: ExposurePage[] = [];
  let page = await ask(q);
  pages.push(page);
  while (page.next) pages.push((page = await ask({ ...q, after: page.next })));
  return pages;
}

const EMP1 = [
  { seq: 0, at: at(0), customer: 'c1', actor: 'emp1', fields: ['email', 'phone'], purpose: 'case:k1' },
  { seq: 3, at: at(3), customer: 'c2', actor: 'emp1', fields: ['name'] },
  { seq: 3, at: at(3), customer: 'c3', actor: 'emp1', fields: ['name'] },
  { seq: 6, at: at(6), customer: 'c4', actor: 'emp1', fields: MANY_FIELDS },
  { seq: 7, at: at(7), customer: '[odd]', actor: 'emp1', fields: ['email'] },
];

async function expectExposures(store: Store): Promise<void> {
  expect(rowsOf(await allPages((q) => store.accessEvents.exposuresByActor('emp1', q), { limit: 100 }))).toEqual(EMP1);
  expect(rowsOf(await allPages((q) => store.accessEvents.exposuresByCustomers(['c1', 'c2', 'c9'], q), { limit: 100 }))).toEqual([
    { seq: 0, at: at(0), customer: 'c1', actor: 'emp1', fields: ['email', 'phone'], purpose: 'case:k1' },
    { seq: 4, at: at(4), customer: 'c1', actor: 'emp2', fields: ['email'], purpose: 'ticket:T-1' },
    { seq: 3, at: at(3), customer: 'c2', actor: 'emp1', fields: ['name'] },
  ]);
}

for (const target of storeTargets()) {
  describe(`exposures from the access-event index on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('keeps each event\'s customers, fields and purpose in the index, so exposures read no ledger entry', async () => {
      const store = await openTestStore(target);
      try {
        await store.ledger.appendBatch(0, EVENTS.map(canonicalEventBytes), []);
        await store.eventIndex.catchUp();
        // Every entry made unreadable: answers from the index alone still come, event reads do not.
        await store.db.updateTable('ledger_entries').set({ entry: Buffer.from('not an event') }).execute();
        await expectExposures(store);
        await expect(store.accessEvents.byActor('emp1', { limit: 10 })).rejects.toThrow(/not one/);
      } finally {
        await store.close();
      }
    });

    it('pages by events (never splitting one) and by customers, within the window', async () => {
      const store = await openTestStore(target);
      try {
        await store.ledger.appendBatch(0, EVENTS.map(canonicalEventBytes), []);
        const byActor = await allPages((q) => store.accessEvents.exposuresByActor('emp1', q), { limit: 1 });
        expect(byActor.map((p) => p.length)).toEqual([1, 2, 1, 1, 0]);
        expect(rowsOf(byActor)).toEqual(EMP1);
        const byCustomers = await allPages((q) => store.accessEvents.exposuresByCustomers(['c1', 'c2', 'c3'], q), { limit: 2 });
        expect(byCustomers.map((p) => p.length)).toEqual([2, 2, 0]);
        expect(rowsOf(byCustomers).map((r) => `${r.customer}@${r.seq}`)).toEqual(['c1@0', 'c1@4', 'c2@3', 'c3@3']);
        const window = { from: at(3), to: at(7), limit: 100 };
        expect(rowsOf([await store.accessEvents.exposuresByActor('emp1', window)]).map((r) => r.seq)).toEqual([3, 3, 6]);
        expect(rowsOf([await store.accessEvents.exposuresByCustomers(['c1'], window)]).map((r) => r.seq)).toEqual([4]);
      } finally {
        await store.close();
      }
    });
  });
}

describe('an index from before exposures were kept', () => {
  const sqlite = sqliteTarget();
  const postgres = postgresTarget();
  afterAll(async () => {
    await sqlite.cleanup();
    await postgres.cleanup();
  });

  it('SQLite: an index file of the older layout is rebuilt from the ledger', async () => {
    const loc = sqlite.location() as { dialect: 'sqlite'; file: string };
    let store = await Store.open(loc);
    try {
      await store.ledger.appendBatch(0, EVENTS.map(canonicalEventBytes), []);
      await store.eventIndex.catchUp();
    } finally {
      await store.close();
    }
    // The layout of version 1: keys only, every entry indexed.
    const index = new BetterSqlite3(indexFileFor(loc.file));
    index.exec(`DROP TABLE access_events; DROP TABLE access_event_customers; DROP TABLE access_event_fields;
      CREATE TABLE access_events (seq integer PRIMARY KEY, time_ms integer NOT NULL, actor text NOT NULL, action text NOT NULL, decision text NOT NULL);
      CREATE TABLE access_event_customers (customer text NOT NULL, seq integer NOT NULL, PRIMARY KEY (customer, seq)) WITHOUT ROWID;
      PRAGMA user_version = 1;`);
    index.close();
    store = await Store.open(loc);
    try {
      await expectExposures(store);
      expect(await store.eventIndex.indexedThrough()).toBe(EVENTS.length);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL: migration 0011 empties the older index, which is projected again from the ledger', async () => {
    const loc = postgres.location() as { dialect: 'postgres'; url: string; schema: string };
    const pool = new pg.Pool({ connectionString: TEST_PG_URL, options: `-c search_path=${loc.schema}` });
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    try {
      await db.schema.createSchema(loc.schema).execute();
      const all = await migrationsFor('postgres').getMigrations();
      const before = Object.fromEntries(Object.entries(all).filter(([name]) => name < '0011'));
      const { error } = await new Migrator({ db, provider: { getMigrations: async () => before }, migrationTableSchema: loc.schema }).migrateToLatest();
      expect(error).toBeUndefined();
      // The ledger and its index as the older code left them: every entry projected, keys only.
      await db.insertInto('ledger_entries').values(EVENTS.map((e, idx) => ({ idx, entry: canonicalEventBytes(e) }))).execute();
      await db.insertInto('access_events').values(EVENTS.map((e, seq) => ({ seq, time_ms: Date.parse(e.time), actor: e.actor, action: e.action, decision: e.decision }))).execute();
      await db.insertInto('access_event_customers').values(EVENTS.flatMap((e, seq) => [...new Set(e.customers)].map((customer) => ({ customer, seq })))).execute();
      await sql`UPDATE access_event_projection SET next_seq = ${EVENTS.length}`.execute(db);
    } finally {
      await db.destroy();
    }
    const store = await Store.open(loc);
    try {
      await expectExposures(store);
      expect(await store.eventIndex.indexedThrough()).toBe(EVENTS.length);
    } finally {
      await store.close();
    }
  });
});
