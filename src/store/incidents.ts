/**
 * Incidents in the store: each incident as it stands, and its timeline (every act on it, in
 * order, with the ledger index of the decision that allowed it). A state change is
 * compare-and-set together with its timeline entry, so two responders cannot both move an
 * incident, and no entry is written against a state that no longer holds.
 *
 * One class per dialect (JSON as jsonb on PostgreSQL, text on SQLite), the queries shared.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database, IncidentsTable, IncidentTimelineTable } from './schema.ts';
import { POSTGRES_JSON, SQLITE_JSON, type JsonColumns } from './json-columns.ts';

export const INCIDENT_STATES = ['open', 'contained', 'assessing', 'notifying', 'closed'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

/** insider: a suspected employee (the subject); exposure: data made visible by accident (a bug, a misdirected export). */
export const INCIDENT_KINDS = ['insider', 'exposure'] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

export const TIMELINE_KINDS = ['opened', 'transition', 'containment', 'webhook_attempt', 'webhook_outcome', 'note', 'export', 'notices_queued', 'notices_sent', 'notices_bounced'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/**
 * What an accidental exposure exposed: a list of customers and fields given by hand, or a query
 * over events (a channel and/or an actor, in the incident's window), recomputed from the events
 * whenever it is asked.
 */
export type Exposure = { customers: string[]; fields: string[] } | { query: { channel?: string; actor?: string } };

export interface Incident {
  id: string;
  kind: IncidentKind;
  title: string;
  state: IncidentState;
  /** The employee suspected (insider incidents). */
  subject?: string;
  /** The window looked at: from inclusive, to exclusive. */
  from?: string;
  to?: string;
  /** The alert it was escalated from. */
  alert?: string;
  exposure?: Exposure;
  openedAt: string;
  openedBy: string;
  updatedAt: string;
}

export interface TimelineEntry {
  /** 1, 2, … per incident. */
  n: number;
  at: string;
  actor: string;
  kind: TimelineKind;
  detail: Record<string, string | number | boolean>;
  /** Ledger index of the recorded decision behind the act, when there is one. */
  seq?: number;
}

export type NewTimelineEntry = Omit<TimelineEntry, 'n'>;

export interface IncidentFilter {
  state?: IncidentState;
  subject?: string;
  /** Keyset: incidents opened before this one (newest first). */
  after?: string;
  limit: number;
}

export interface IncidentStore {
  /** Create the incident and its first timeline entry together; false (nothing written) when the id is taken. */
  create(incident: Incident, first: NewTimelineEntry): Promise<boolean>;
  get(id: string): Promise<Incident | undefined>;
  /** Newest first. */
  list(filter: IncidentFilter): Promise<Incident[]>;
  /** Move from `from` to `to` with its entry; false (and nothing written) when the incident is no longer in `from`. */
  transition(id: string, from: IncidentState, to: IncidentState, entry: NewTimelineEntry): Promise<boolean>;
  /** Add an entry; returns its number. */
  append(id: string, entry: NewTimelineEntry): Promise<number>;
  timeline(id: string): Promise<TimelineEntry[]>;
}

abstract class SqlIncidentStore implements IncidentStore {
  constructor(
    protected readonly db: Kysely<Database>,
    private readonly json: JsonColumns,
  ) {}

  async create(incident: Incident, first: NewTimelineEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx.insertInto('incidents').values(this.toRow(incident)).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await tx.insertInto('incident_timeline').values(this.entryRow(incident.id, 1, first)).execute();
      return true;
    });
  }

  async get(id: string): Promise<Incident | undefined> {
    const row = await this.db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.fromRow(row) : undefined;
  }

  async list(filter: IncidentFilter): Promise<Incident[]> {
    let q = this.db.selectFrom('incidents').selectAll().orderBy('opened_at', 'desc').orderBy('id', 'desc').limit(filter.limit);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    if (filter.subject !== undefined) q = q.where('subject', '=', filter.subject);
    if (filter.after !== undefined) {
      const cursor = await this.db.selectFrom('incidents').select(['opened_at', 'id']).where('id', '=', filter.after).executeTakeFirst();
      if (!cursor) return [];
      q = q.where((eb) => eb.or([
        eb('opened_at', '<', cursor.opened_at),
        eb.and([eb('opened_at', '=', cursor.opened_at), eb('id', '<', cursor.id)]),
      ]));
    }
    return (await q.execute()).map((r) => this.fromRow(r));
  }

  async transition(id: string, from: IncidentState, to: IncidentState, entry: NewTimelineEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      // The update takes the row's write lock: a concurrent transition waits, then finds the state moved.
      const res = await tx.updateTable('incidents').set({ state: to, updated_at: entry.at }).where('id', '=', id).where('state', '=', from).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await this.appendIn(tx, id, entry);
      return true;
    });
  }

  async append(id: string, entry: NewTimelineEntry): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      // Lock the incident first, so concurrent entries number one after another.
      await tx.updateTable('incidents').set({ updated_at: entry.at }).where('id', '=', id).execute();
      return this.appendIn(tx, id, entry);
    });
  }

  async timeline(id: string): Promise<TimelineEntry[]> {
    const rows = await this.db.selectFrom('incident_timeline').selectAll().where('incident_id', '=', id).orderBy('n').execute();
    return rows.map((r) => ({
      n: Number(r.n), at: r.at, actor: r.actor, kind: r.kind as TimelineKind,
      detail: this.json.fromJson<TimelineEntry['detail']>(r.detail),
      ...(r.seq !== null ? { seq: Number(r.seq) } : {}),
    }));
  }

  private async appendIn(tx: Transaction<Database>, id: string, entry: NewTimelineEntry): Promise<number> {
    const last = await tx.selectFrom('incident_timeline').select((eb) => eb.fn.max('n').as('n')).where('incident_id', '=', id).executeTakeFirst();
    const n = Number(last?.n ?? 0) + 1;
    await tx.insertInto('incident_timeline').values(this.entryRow(id, n, entry)).execute();
    return n;
  }

  private entryRow(id: string, n: number, e: NewTimelineEntry): IncidentTimelineTable {
    return { incident_id: id, n, at: e.at, actor: e.actor, kind: e.kind, detail: this.json.toJson(e.detail), seq: e.seq ?? null };
  }

  private toRow(i: Incident): IncidentsTable {
    return {
      id: i.id, kind: i.kind, title: i.title, state: i.state, subject: i.subject ?? null,
      window_from: i.from ?? null, window_to: i.to ?? null, alert_id: i.alert ?? null,
      exposure: i.exposure ? this.json.toJson(i.exposure) : null,
      opened_at: i.openedAt, opened_by: i.openedBy, updated_at: i.updatedAt,
    };
  }

  private fromRow(r: IncidentsTable): Incident {
    return {
      id: r.id, kind: r.kind as IncidentKind, title: r.title, state: r.state as IncidentState,
      ...(r.subject !== null ? { subject: r.subject } : {}),
      ...(r.window_from !== null ? { from: r.window_from } : {}),
      ...(r.window_to !== null ? { to: r.window_to } : {}),
      ...(r.alert_id !== null ? { alert: r.alert_id } : {}),
      ...(r.exposure !== null && r.exposure !== undefined ? { exposure: this.json.fromJson<Exposure>(r.exposure) } : {}),
      openedAt: r.opened_at, openedBy: r.opened_by, updatedAt: r.updated_at,
    };
  }
}

export class SqliteIncidentStore extends SqlIncidentStore {
  constructor(db: Kysely<Database>) {
    super(db, SQLITE_JSON);
  }
}

export class PostgresIncidentStore extends SqlIncidentStore {
  constructor(db: Kysely<Database>) {
    super(db, POSTGRES_JSON);
  }
}
