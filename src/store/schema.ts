/**
 * The tables, typed once for kysely. Times are ISO-8601 UTC text (sortable in both
 * dialects); booleans are 0/1 integers; byte columns are BLOB (SQLite) / BYTEA (PostgreSQL).
 */
import type { Generated } from 'kysely';

export interface CustomersTable {
  id: string;
  country: string;
  region: string | null;
  locale: string | null;
  canary: number;
  vip: number;
  /** The legal entity holding the account, in clear (migration 0012); null: the entities' rules decide. */
  entity: string | null;
  /** JSON array of the PII field names the record holds. */
  fields: string;
  /** The customer's data key, wrapped by a KEK (vault format). Deleting it shreds the record. */
  wrapped_key: Uint8Array;
  /** JSON object: field name → base64 of the sealed value (vault format). */
  sealed: string;
  /** JSON object: field name → masked form, computed at seal time so a masked view never unwraps a key. */
  masked: string;
  email_index: string | null;
  phone_index: string | null;
  created_at: string;
  updated_at: string;
}

export interface EmployeesTable {
  id: string;
  name: string;
  team: string;
  role: string;
  location: string;
  hired_at: string;
  left_at: string | null;
  manager: string | null;
  status: string;
  extra: string | null;
  updated_at: string;
}

export interface CasesTable {
  id: string;
  employee: string;
  customer: string;
  opened_at: string;
  closed_at: string | null;
  kind: string;
  extra: string | null;
  updated_at: string;
}

/**
 * A case's lifecycle, one row per act: opened, reassigned, closed, reopened. Rows are only ever
 * added, so an earlier assignment is never lost; `employee` is the assignee once the act is done.
 */
export interface CaseEventsTable {
  case_id: string;
  /** 1, 2, … per case, in the order the acts happened. */
  n: number;
  at: string;
  operation: string;
  employee: string;
  /** Who did it; null for the acts an import carried (the case's opening and closing as imported). */
  actor: string | null;
  /** Ledger index of the recorded decision that allowed it; null for imported acts. */
  seq: number | null;
}

/** Ledger leaves: the exact canonical bytes of each access event. */
export interface LedgerEntriesTable {
  idx: number;
  entry: Uint8Array;
}

/** Complete, aligned Merkle subtree hashes (level 0 = leaf hashes). */
export interface LedgerNodesTable {
  level: number;
  idx: number;
  hash: Uint8Array;
}

export interface LedgerCheckpointsTable {
  size: number;
  note: string;
  signed_at: string;
}

/**
 * Query index over recorded access events: a projection of the ledger (access-event-projection.ts).
 * Only the keys queries select by; the event itself is read back from its ledger entry.
 */
export interface AccessEventsTable {
  seq: number;
  /** Event time, ms since the epoch. */
  time_ms: number;
  actor: string;
  action: string;
  decision: string;
  /** The event's distinct customers: the one id, or a JSON array when there are none or several (exposures.ts). */
  customers: string;
  /** The fields returned in clear, as bits of access_event_fields. */
  fields: number;
  /** Fields beyond the bits access_event_fields can hold, as a JSON array; null when none. */
  fields_extra: string | null;
  purpose_kind: string | null;
  purpose_ref: string | null;
}

/** The access-event index's field names: bit → name, assigned in the order the projection first meets them. */
export interface AccessEventFieldsTable {
  bit: number;
  name: string;
}

/**
 * One row per (event, customer): access reports and attribution read by customer. Each holds
 * what attribution counts, so it reads these rows alone, in key order, not each event's row.
 */
export interface AccessEventCustomersTable {
  customer: string;
  seq: number;
  time_ms: number;
  actor: string;
  /** The fields the event exposed (an allowed reveal or export), as bits of access_event_fields; 0 for any other event. */
  exposed: number;
  /** Exposed fields beyond the bits, as a JSON array; null when none. */
  exposed_extra: string | null;
  purpose_kind: string | null;
  purpose_ref: string | null;
}

/** One row (id 1): the next ledger index the access-event index has not yet projected. */
export interface AccessEventProjectionTable {
  id: number;
  next_seq: number;
}

/** Uses of a budget per actor, kind and minute (budgets.ts); minutes older than a day are pruned. */
export interface BudgetCountsTable {
  actor: string;
  kind: string;
  /** Minutes since the epoch. */
  minute: number;
  n: number;
}

/** Budget kinds already seeded from the access events (budgets.ts seedOnce). */
export interface BudgetSeededTable {
  kind: string;
}

/**
 * One row (singleton 1): the key ring this store belongs to, and the KEK every data key written
 * now must be wrapped under (the rotation fence, key-ring-identity.ts).
 */
export interface KeyRingIdentityTable {
  singleton: number;
  ring_id: string;
  current_kek: string;
  bound_at: string;
  updated_at: string;
}

/** Customer notices (notice-outbox.ts); times in ms since the epoch or ISO-8601 UTC text. */
export interface NoticeOutboxTable {
  incident: string;
  customer: string;
  message_id: string;
  locale: string;
  entity: string;
  /** The rendered notice, deflated JSON (notice-outbox.ts NoticeContent). */
  content: Uint8Array;
  state: string;
  attempts: number;
  due_ms: number | null;
  lease_owner: string | null;
  last_error: string | null;
  queued_at: string;
  sent_at: string | null;
  updated_at: string;
}

/** A stable alias per employee: what the pseudonymised alert view shows instead of the id. */
export interface AlertSubjectsTable {
  employee: string;
  alias: string;
}

/** Each alert as detection last raised or updated it; `state` is the analysts'. */
export interface AlertsTable {
  id: string;
  employee: string;
  score: number;
  severity: string;
  state: string;
  detected_at: string;
  first_event_at: string;
  updated_at: string;
  /** JSON: the detectors with their scores and evidence (jsonb on PostgreSQL, text on SQLite). */
  detectors: unknown;
  explanation: string;
  /** Ledger index of the event at which it was last raised or updated. */
  seq: number | null;
  stored_at: string;
}

/** An employee's risk score each time an alert of theirs was raised or updated. */
export interface RiskScoresTable {
  alert_id: string;
  at: string;
  employee: string;
  score: number;
  /** JSON: [{name, score}] */
  detectors: unknown;
  seq: number | null;
}

export interface AlertStateChangesTable {
  alert_id: string;
  /** 1, 2, … per alert. */
  n: number;
  at: string;
  from_state: string;
  to_state: string;
  actor: string;
  reason: string | null;
  /** Ledger index of the recorded decision that allowed it. */
  seq: number;
}

/** How far each detection subscriber has read the ledger: the next index it has not handled. */
export interface DetectionPositionsTable {
  name: string;
  next_seq: number;
  updated_at: string;
}

/** An incident as stored (incidents.ts). */
export interface IncidentsTable {
  id: string;
  kind: string;
  title: string;
  state: string;
  subject: string | null;
  window_from: string | null;
  window_to: string | null;
  alert_id: string | null;
  /** Accidental exposures: the customers and fields exposed (JSON). */
  exposure: unknown;
  opened_at: string;
  opened_by: string;
  updated_at: string;
}

/** One act on an incident, in order: opened, transition, containment, webhook attempts, notes, exports. */
export interface IncidentTimelineTable {
  incident_id: string;
  n: number;
  at: string;
  actor: string;
  kind: string;
  detail: unknown;
  seq: number | null;
}

/** An event ingested from `source` under its own `id`, recorded at ledger index `seq`. */
export interface IngestedEventsTable {
  source: string;
  id: string;
  seq: number;
}

export interface Database {
  customers: CustomersTable;
  employees: EmployeesTable;
  cases: CasesTable;
  case_events: CaseEventsTable;
  ledger_entries: LedgerEntriesTable;
  ledger_nodes: LedgerNodesTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  access_events: AccessEventsTable;
  access_event_customers: AccessEventCustomersTable;
  access_event_projection: AccessEventProjectionTable;
  access_event_fields: AccessEventFieldsTable;
  budget_counts: BudgetCountsTable;
  budget_seeded: BudgetSeededTable;
  key_ring_identity: KeyRingIdentityTable;
  notice_outbox: NoticeOutboxTable;
  alert_subjects: AlertSubjectsTable;
  incidents: IncidentsTable;
  incident_timeline: IncidentTimelineTable;
  alerts: AlertsTable;
  ingested_events: IngestedEventsTable;
  risk_scores: RiskScoresTable;
  alert_state_changes: AlertStateChangesTable;
  detection_positions: DetectionPositionsTable;
}

export type { Generated };
