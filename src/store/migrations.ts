/**
 * Versioned migrations, applied in name order by kysely's Migrator at open.
 * Never edit a released migration: add the next one.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { StoreDialect } from './store.ts';

function byteType(dialect: StoreDialect) {
  return dialect === 'postgres' ? 'bytea' : 'blob';
}

function bigType(dialect: StoreDialect) {
  return dialect === 'postgres' ? 'bigint' : 'integer';
}

function initial(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('customers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('region', 'text')
        .addColumn('locale', 'text')
        .addColumn('canary', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('vip', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('fields', 'text', (c) => c.notNull())
        .addColumn('wrapped_key', byteType(dialect), (c) => c.notNull())
        .addColumn('sealed', 'text', (c) => c.notNull())
        .addColumn('masked', 'text', (c) => c.notNull())
        .addColumn('email_index', 'text')
        .addColumn('phone_index', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('customers_email_index').on('customers').column('email_index').execute();
      await db.schema.createIndex('customers_phone_index').on('customers').column('phone_index').execute();
      await db.schema.createIndex('customers_country').on('customers').column('country').execute();

      await db.schema
        .createTable('employees')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('team', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('hired_at', 'text', (c) => c.notNull())
        .addColumn('left_at', 'text')
        .addColumn('manager', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('extra', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('cases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('employee', 'text', (c) => c.notNull())
        .addColumn('customer', 'text', (c) => c.notNull())
        .addColumn('opened_at', 'text', (c) => c.notNull())
        .addColumn('closed_at', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('extra', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('cases_employee_customer').on('cases').columns(['employee', 'customer']).execute();
      await db.schema.createIndex('cases_customer').on('cases').column('customer').execute();

      await db.schema
        .createTable('ledger_entries')
        .addColumn('idx', bigType(dialect), (c) => c.primaryKey())
        .addColumn('entry', byteType(dialect), (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ledger_nodes')
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('idx', bigType(dialect), (c) => c.notNull())
        .addColumn('hash', byteType(dialect), (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_nodes_pk', ['level', 'idx'])
        .execute();
      await db.schema
        .createTable('ledger_checkpoints')
        .addColumn('size', bigType(dialect), (c) => c.primaryKey())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('signed_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('access_events')
        .addColumn('seq', bigType(dialect), (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('fields', 'text', (c) => c.notNull())
        .addColumn('purpose_kind', 'text')
        .addColumn('purpose_ref', 'text')
        .addColumn('channel', 'text')
        .addColumn('ip', 'text')
        .addColumn('customer_count', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('access_events_actor_time').on('access_events').columns(['actor', 'time']).execute();
      await db.schema.createIndex('access_events_time').on('access_events').column('time').execute();
      await db.schema
        .createTable('access_event_customers')
        .addColumn('customer', 'text', (c) => c.notNull())
        .addColumn('seq', bigType(dialect), (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_event_customers_pk', ['customer', 'seq'])
        .execute();
    },
  };
}

/**
 * The access-event index becomes a projection of the ledger, written after the ledger commits
 * instead of inside its transaction, and slims down to the keys queries select by (events are
 * read back from their ledger entries). The old index tables are dropped, not converted: the
 * index is rebuilt from the ledger on first use. On SQLite it moves to a file of its own
 * (event-index.ts says why), which creates its tables itself.
 */
function indexProjection(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.dropTable('access_event_customers').execute();
      await db.schema.dropTable('access_events').execute();
      if (dialect !== 'postgres') return;
      // Frozen: the index tables as this migration first created them (event-index.ts has the live layout).
      await sql`CREATE TABLE access_events (seq bigint PRIMARY KEY, time_ms bigint NOT NULL, actor text NOT NULL, action text NOT NULL, decision text NOT NULL)`.execute(db);
      await sql`CREATE INDEX access_events_actor_time ON access_events (actor, time_ms)`.execute(db);
      await sql`CREATE INDEX access_events_time ON access_events (time_ms)`.execute(db);
      await sql`CREATE TABLE access_event_customers (customer text NOT NULL, seq bigint NOT NULL, CONSTRAINT access_event_customers_pk PRIMARY KEY (customer, seq))`.execute(db);
      await sql`CREATE TABLE access_event_projection (id integer PRIMARY KEY, next_seq bigint NOT NULL)`.execute(db);
      await sql`INSERT INTO access_event_projection (id, next_seq) VALUES (1, 0)`.execute(db);
    },
  };
}

/**
 * Budgets counted in the store (budgets.ts). PostgreSQL keeps them in the schema; SQLite in a
 * file of its own, created by SqliteBudgetCounter, so nothing to do here.
 */
function budgetCounts(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return;
      await sql`CREATE TABLE budget_counts (actor text NOT NULL, kind text NOT NULL, minute bigint NOT NULL, n integer NOT NULL, PRIMARY KEY (actor, kind, minute))`.execute(db);
      await sql`CREATE TABLE budget_seeded (kind text PRIMARY KEY)`.execute(db);
    },
  };
}

/** Cases keep their history: every open, reassign, close and reopen is a row of its own. */
function caseHistory(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('case_events')
        .addColumn('case_id', 'text', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('employee', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('seq', bigType(dialect))
        .addPrimaryKeyConstraint('case_events_pk', ['case_id', 'n'])
        .execute();
    },
  };
}

/**
 * The store records which key ring it belongs to and which KEK new data keys must be wrapped
 * under (key-ring-identity.ts): one row, written on first use.
 */
function keyRingIdentity(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('key_ring_identity')
        .addColumn('singleton', 'integer', (c) => c.primaryKey().check(sql`singleton = 1`))
        .addColumn('ring_id', 'text', (c) => c.notNull())
        .addColumn('current_kek', 'text', (c) => c.notNull())
        .addColumn('bound_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

/**
 * Customer notices waiting to go, going and gone (notice-outbox.ts): one row per (incident,
 * customer), so a customer is queued once per incident however often the queue is filled.
 * `due_ms` is when a sender may next take the row (next attempt, or the end of a sender's
 * lease); null once it is sent or given up. PostgreSQL keeps it in the schema; SQLite in a file
 * of its own (custos-notices.db), created by SqliteNoticeOutbox, so nothing to do here.
 */
function noticeOutbox(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return;
      await sql`CREATE TABLE notice_outbox (
        incident text NOT NULL, customer text NOT NULL, message_id text NOT NULL UNIQUE, locale text NOT NULL, entity text NOT NULL,
        content bytea NOT NULL, state text NOT NULL, attempts integer NOT NULL DEFAULT 0, due_ms bigint, lease_owner text, last_error text,
        queued_at text NOT NULL, sent_at text, updated_at text NOT NULL,
        CONSTRAINT notice_outbox_pk PRIMARY KEY (incident, customer))`.execute(db);
      await sql`CREATE INDEX notice_outbox_due ON notice_outbox (incident, due_ms)`.execute(db);
    },
  };
}

/**
 * Detection's alerts (alerts.ts): each alert as last raised or updated, the alias it is shown
 * under, the risk scores behind it, its state changes, and how far detection has read the
 * ledger. Evidence is JSON: jsonb on PostgreSQL, text on SQLite.
 */
function alerts(dialect: StoreDialect): Migration {
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  const big = bigType(dialect);
  return {
    async up(db: Kysely<any>) {
      await sql.raw(`CREATE TABLE alert_subjects (employee text PRIMARY KEY, alias text NOT NULL UNIQUE)`).execute(db);
      await sql.raw(`CREATE TABLE alerts (
        id text PRIMARY KEY, employee text NOT NULL, score double precision NOT NULL, severity text NOT NULL,
        state text NOT NULL, detected_at text NOT NULL, first_event_at text NOT NULL, updated_at text NOT NULL,
        detectors ${json} NOT NULL, explanation text NOT NULL, seq ${big}, stored_at text NOT NULL)`).execute(db);
      await sql.raw(`CREATE INDEX alerts_detected ON alerts (detected_at, id)`).execute(db);
      await sql.raw(`CREATE INDEX alerts_employee ON alerts (employee, detected_at)`).execute(db);
      await sql.raw(`CREATE INDEX alerts_state ON alerts (state, detected_at)`).execute(db);
      await sql.raw(`CREATE TABLE risk_scores (
        alert_id text NOT NULL, at text NOT NULL, employee text NOT NULL, score double precision NOT NULL,
        detectors ${json} NOT NULL, seq ${big}, PRIMARY KEY (alert_id, at))`).execute(db);
      await sql.raw(`CREATE INDEX risk_scores_employee ON risk_scores (employee, at)`).execute(db);
      await sql.raw(`CREATE TABLE alert_state_changes (
        alert_id text NOT NULL, n integer NOT NULL, at text NOT NULL, from_state text NOT NULL, to_state text NOT NULL,
        actor text NOT NULL, reason text, seq ${big} NOT NULL, PRIMARY KEY (alert_id, n))`).execute(db);
      await sql.raw(`CREATE TABLE detection_positions (name text PRIMARY KEY, next_seq ${big} NOT NULL, updated_at text NOT NULL)`).execute(db);
    },
  };
}

/** Incidents and their timelines (incidents.ts): one row per incident, one per act on it. */
function incidents(dialect: StoreDialect): Migration {
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  const big = bigType(dialect);
  return {
    async up(db: Kysely<any>) {
      await sql.raw(`CREATE TABLE incidents (
        id text PRIMARY KEY, kind text NOT NULL, title text NOT NULL, state text NOT NULL, subject text,
        window_from text, window_to text, alert_id text, exposure ${json}, opened_at text NOT NULL,
        opened_by text NOT NULL, updated_at text NOT NULL)`).execute(db);
      await sql.raw(`CREATE INDEX incidents_opened ON incidents (opened_at, id)`).execute(db);
      await sql.raw(`CREATE INDEX incidents_subject ON incidents (subject)`).execute(db);
      await sql.raw(`CREATE TABLE incident_timeline (
        incident_id text NOT NULL, n integer NOT NULL, at text NOT NULL, actor text NOT NULL, kind text NOT NULL,
        detail ${json} NOT NULL, seq ${big}, PRIMARY KEY (incident_id, n))`).execute(db);
    },
  };
}

/** Ingested events by source and their own id (ingested-events.ts): a resent ingest skips what is in. */
function ingestedEvents(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql.raw(`CREATE TABLE ingested_events (source text NOT NULL, id text NOT NULL, seq ${bigType(dialect)} NOT NULL, PRIMARY KEY (source, id))`).execute(db);
    },
  };
}

/**
 * The legal entity holding a customer's account, in clear: it says which of the company's
 * controllers speaks to them, nothing about the person. Earlier imports sealed it as PII; the
 * broker moves those values here (src/broker/clear-entity.ts), since only it may open them.
 */
function customerEntity(): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql.raw('ALTER TABLE customers ADD COLUMN entity text').execute(db);
    },
  };
}

/**
 * The access-event index's rows hold what blast radius and attribution count, so those read no
 * ledger entry: each event's customers, the fields it returned (bits of access_event_fields, the
 * names in the order first met; names past 31 bits as a JSON array), and its purpose; each
 * (event, customer) row its time, actor, purpose and the fields the event exposed, so
 * attribution reads those rows alone. The rows
 * cannot be filled from what the index holds, so it is emptied and its watermark set back: the
 * next read projects the whole ledger again. SQLite's index file rebuilds itself (its layout
 * version, event-index-worker.ts), so nothing to do here.
 */
function indexExposures(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect !== 'postgres') return;
      // Frozen: the index as this migration leaves it (event-index.ts has the live SQLite layout).
      await sql`TRUNCATE access_event_customers, access_events`.execute(db);
      await sql`UPDATE access_event_projection SET next_seq = 0 WHERE id = 1`.execute(db);
      await sql`ALTER TABLE access_events ADD COLUMN customers text NOT NULL, ADD COLUMN fields integer NOT NULL,
        ADD COLUMN fields_extra text, ADD COLUMN purpose_kind text, ADD COLUMN purpose_ref text`.execute(db);
      await sql`ALTER TABLE access_event_customers ADD COLUMN time_ms bigint NOT NULL, ADD COLUMN actor text NOT NULL,
        ADD COLUMN exposed integer NOT NULL, ADD COLUMN exposed_extra text, ADD COLUMN purpose_kind text, ADD COLUMN purpose_ref text`.execute(db);
      await sql`CREATE TABLE access_event_fields (bit integer PRIMARY KEY, name text NOT NULL UNIQUE)`.execute(db);
    },
  };
}

export function migrationsFor(dialect: StoreDialect): MigrationProvider {
  return {
    async getMigrations() {
      return {
        '0001_initial': initial(dialect),
        '0002_access_event_projection': indexProjection(dialect),
        '0003_case_history': caseHistory(dialect),
        '0004_keyring_identity': keyRingIdentity(),
        '0006_budget_counts': budgetCounts(dialect),
        '0007_alerts': alerts(dialect),
        '0008_incidents': incidents(dialect),
        '0009_notice_outbox': noticeOutbox(dialect),
        '0010_ingest': ingestedEvents(dialect),
        '0011_index_exposures': indexExposures(dialect),
        '0012_customer_entity': customerEntity(),
      };
    },
  };
}
