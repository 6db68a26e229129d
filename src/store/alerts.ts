/**
 * Detection's alerts in the store: each alert as last raised or updated (with the stable alias
 * the analyst view shows instead of the employee's id), the risk scores behind it, the state
 * changes analysts made, and how far detection has read the ledger.
 *
 * Storing what detection found is idempotent: detection replays the ledger after a restart,
 * and an alert already stored at the same update is left as it is. Detection never changes an
 * alert's state; only changeState does, compare-and-set, so two analysts cannot both move it.
 *
 * One class per dialect (alerts as jsonb on PostgreSQL, text on SQLite), the queries shared.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Alert, AlertDetector, AlertState, Severity } from '../detect/alert.ts';
import type { Database } from './schema.ts';
import { POSTGRES_JSON, SQLITE_JSON, type JsonColumns } from './json-columns.ts';

/** An alert as stored: the alert, its subject's alias, and the ledger index it was last updated at. */
export interface StoredAlert extends Alert {
  alias: string;
  seq?: number;
}

/** An alert detection raised or updated, at the event with ledger index `seq`. */
export interface DetectedAlert {
  alert: Alert;
  seq: number;
}

export interface AlertFilter {
  state?: AlertState;
  severity?: Severity;
  /** By the subject's alias. */
  alias?: string;
  /** Never alerts about this employee (an analyst is not shown their own). */
  notEmployee?: string;
  /** detectedAt at or after. */
  from?: string;
  /** detectedAt before. */
  to?: string;
  /** Keyset: the alerts after this one (newest first). */
  after?: string;
  limit: number;
}

export interface RiskPoint {
  at: string;
  score: number;
  alert: string;
  detectors: Array<{ name: string; score: number }>;
  seq?: number;
}

export interface AlertStateChange {
  at: string;
  from: AlertState;
  to: AlertState;
  actor: string;
  reason?: string;
  /** Ledger index of the recorded decision. */
  seq: number;
}

export interface AlertStore {
  /**
   * Store alerts detection raised or updated, their risk points, and the detection position
   * `name` reached, in one transaction. An alert's state is never touched here.
   */
  saveDetections(name: string, detected: readonly DetectedAlert[], position: number, now: Date): Promise<void>;
  /** The next ledger index detection `name` has not handled (0 before it ever ran). */
  position(name: string): Promise<number>;
  get(id: string): Promise<StoredAlert | undefined>;
  /** Newest first (detectedAt, then id). */
  list(filter: AlertFilter): Promise<StoredAlert[]>;
  /** An employee's risk scores, oldest first, after `after` (an `at`). */
  riskHistory(employee: string, page: { after?: string; limit: number }): Promise<RiskPoint[]>;
  /** Move an alert from `from` to `change.to`; false (and nothing written) when it is no longer in `from`. */
  changeState(id: string, from: AlertState, change: AlertStateChange): Promise<boolean>;
  stateChanges(id: string): Promise<AlertStateChange[]>;
  /** The employee's alias, made on first use. */
  aliasOf(employee: string): Promise<string>;
  /** The employee an alias stands for, if it is one. */
  employeeOfAlias(alias: string): Promise<string | undefined>;
}

abstract class SqlAlertStore implements AlertStore {
  constructor(
    protected readonly db: Kysely<Database>,
    private readonly json: JsonColumns,
  ) {}

  async saveDetections(name: string, detected: readonly DetectedAlert[], position: number, now: Date): Promise<void> {
    const storedAt = now.toISOString();
    // Aliases first, outside the transaction: making one is idempotent.
    for (const employee of new Set(detected.map((d) => d.alert.employee))) await this.aliasOf(employee);
    await this.db.transaction().execute(async (tx) => {
      for (const { alert, seq } of detected) {
        const before = await tx.selectFrom('alerts').select(['state', 'seq']).where('id', '=', alert.id).executeTakeFirst();
        const detectors = this.json.toJson(alert.detectors);
        await tx.insertInto('alerts').values({
          id: alert.id, employee: alert.employee, score: alert.score, severity: alert.severity, state: alert.state,
          detected_at: alert.detectedAt, first_event_at: alert.firstEventAt, updated_at: alert.updatedAt,
          detectors, explanation: alert.explanation, seq, stored_at: storedAt,
        }).onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({
          score: eb.ref('excluded.score'),
          severity: eb.ref('excluded.severity'),
          first_event_at: eb.ref('excluded.first_event_at'),
          updated_at: eb.ref('excluded.updated_at'),
          detectors: eb.ref('excluded.detectors'),
          explanation: eb.ref('excluded.explanation'),
          seq: eb.ref('excluded.seq'),
          stored_at: eb.ref('excluded.stored_at'),
        })).where('alerts.seq', '<', seq)).execute();
        // A dismissal ends an analyst's look, not detection's: new findings in the episode open
        // the alert again, so one dismissal (mistaken or colluding) cannot hide what follows.
        if (before?.state === 'dismissed' && Number(before.seq) < seq) {
          await tx.updateTable('alerts').set({ state: 'open' }).where('id', '=', alert.id).where('state', '=', 'dismissed').execute();
          await appendStateChange(tx, alert.id, { at: alert.updatedAt, from: 'dismissed', to: 'open', actor: `detection:${name}`, reason: 'new findings after the dismissal', seq });
        }
        await tx.insertInto('risk_scores').values({
          alert_id: alert.id, at: alert.updatedAt, employee: alert.employee, score: alert.score,
          detectors: this.json.toJson(alert.detectors.map((d) => ({ name: d.name, score: d.score }))), seq,
        }).onConflict((oc) => oc.columns(['alert_id', 'at']).doNothing()).execute();
      }
      await tx.insertInto('detection_positions').values({ name, next_seq: position, updated_at: storedAt })
        .onConflict((oc) => oc.column('name').doUpdateSet({ next_seq: position, updated_at: storedAt }).where('detection_positions.next_seq', '<', position))
        .execute();
    });
  }

  async position(name: string): Promise<number> {
    const row = await this.db.selectFrom('detection_positions').select('next_seq').where('name', '=', name).executeTakeFirst();
    return row ? Number(row.next_seq) : 0;
  }

  async get(id: string): Promise<StoredAlert | undefined> {
    const row = await this.selectAlerts().where('alerts.id', '=', id).executeTakeFirst();
    return row ? this.alertOf(row) : undefined;
  }

  async list(filter: AlertFilter): Promise<StoredAlert[]> {
    let q = this.selectAlerts().orderBy('alerts.detected_at', 'desc').orderBy('alerts.id', 'desc').limit(filter.limit);
    if (filter.state !== undefined) q = q.where('alerts.state', '=', filter.state);
    if (filter.severity !== undefined) q = q.where('alerts.severity', '=', filter.severity);
    if (filter.alias !== undefined) q = q.where('alert_subjects.alias', '=', filter.alias);
    if (filter.notEmployee !== undefined) q = q.where('alerts.employee', '!=', filter.notEmployee);
    if (filter.from !== undefined) q = q.where('alerts.detected_at', '>=', filter.from);
    if (filter.to !== undefined) q = q.where('alerts.detected_at', '<', filter.to);
    if (filter.after !== undefined) {
      const cursor = await this.db.selectFrom('alerts').select(['detected_at', 'id']).where('id', '=', filter.after).executeTakeFirst();
      // A cursor that names no alert ends the listing rather than restarting it.
      if (!cursor) return [];
      q = q.where((eb) => eb.or([
        eb('alerts.detected_at', '<', cursor.detected_at),
        eb.and([eb('alerts.detected_at', '=', cursor.detected_at), eb('alerts.id', '<', cursor.id)]),
      ]));
    }
    return (await q.execute()).map((r) => this.alertOf(r));
  }

  async riskHistory(employee: string, page: { after?: string; limit: number }): Promise<RiskPoint[]> {
    let q = this.db.selectFrom('risk_scores').selectAll().where('employee', '=', employee).orderBy('at').orderBy('alert_id').limit(page.limit);
    if (page.after !== undefined) q = q.where('at', '>', page.after);
    return (await q.execute()).map((r) => ({
      at: r.at,
      score: Number(r.score),
      alert: r.alert_id,
      detectors: this.json.fromJson<Array<{ name: string; score: number }>>(r.detectors),
      ...(r.seq !== null ? { seq: Number(r.seq) } : {}),
    }));
  }

  async changeState(id: string, from: AlertState, change: AlertStateChange): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      // The update takes the row's write lock: a concurrent change waits, then finds the state moved.
      const res = await tx.updateTable('alerts').set({ state: change.to }).where('id', '=', id).where('state', '=', from).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await appendStateChange(tx, id, { ...change, from });
      return true;
    });
  }

  async stateChanges(id: string): Promise<AlertStateChange[]> {
    const rows = await this.db.selectFrom('alert_state_changes').selectAll().where('alert_id', '=', id).orderBy('n').execute();
    return rows.map((r) => ({
      at: r.at, from: r.from_state as AlertState, to: r.to_state as AlertState, actor: r.actor,
      ...(r.reason !== null ? { reason: r.reason } : {}), seq: Number(r.seq),
    }));
  }

  async aliasOf(employee: string): Promise<string> {
    for (;;) {
      const found = await this.db.selectFrom('alert_subjects').select('alias').where('employee', '=', employee).executeTakeFirst();
      if (found) return found.alias;
      // Random, not derived from the id: nothing but this table links an alias to its employee.
      const alias = `S-${randomBytes(5).toString('hex').toUpperCase()}`;
      await this.db.insertInto('alert_subjects').values({ employee, alias }).onConflict((oc) => oc.doNothing()).execute();
    }
  }

  async employeeOfAlias(alias: string): Promise<string | undefined> {
    return (await this.db.selectFrom('alert_subjects').select('employee').where('alias', '=', alias).executeTakeFirst())?.employee;
  }

  private selectAlerts() {
    return this.db.selectFrom('alerts').innerJoin('alert_subjects', 'alert_subjects.employee', 'alerts.employee').selectAll('alerts').select('alert_subjects.alias');
  }

  private alertOf(r: Database['alerts'] & { alias: string }): StoredAlert {
    return {
      id: r.id,
      employee: r.employee,
      alias: r.alias,
      score: Number(r.score),
      severity: r.severity as Severity,
      detectedAt: r.detected_at,
      firstEventAt: r.first_event_at,
      updatedAt: r.updated_at,
      detectors: this.json.fromJson<AlertDetector[]>(r.detectors),
      explanation: r.explanation,
      state: r.state as AlertState,
      ...(r.seq !== null ? { seq: Number(r.seq) } : {}),
    };
  }
}

export class SqliteAlertStore extends SqlAlertStore {
  constructor(db: Kysely<Database>) {
    super(db, SQLITE_JSON);
  }
}

export class PostgresAlertStore extends SqlAlertStore {
  constructor(db: Kysely<Database>) {
    super(db, POSTGRES_JSON);
  }
}

/** One more entry in an alert's state history. */
async function appendStateChange(tx: Kysely<Database>, id: string, change: AlertStateChange): Promise<void> {
  const last = await tx.selectFrom('alert_state_changes').select((eb) => eb.fn.max('n').as('n')).where('alert_id', '=', id).executeTakeFirst();
  await tx.insertInto('alert_state_changes').values({
    alert_id: id, n: Number(last?.n ?? 0) + 1, at: change.at, from_state: change.from, to_state: change.to,
    actor: change.actor, reason: change.reason ?? null, seq: change.seq,
  }).execute();
}
