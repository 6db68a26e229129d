/**
 * Store records → Cedar entities and context, as policies/custos.cedarschema describes them.
 * Everything time-dependent (is the employee still active, is the case open) is computed
 * here at `now`, so policies compare plain values.
 *
 * Built for the reveal hot path: cedar-wasm parses every value of every request (~2 µs per
 * attribute, ~9 µs per entity reference), so only attributes some policy reads are sent
 * (`keep`, computed from the policy set at load) and links are ids, not references.
 */
import type { CedarValueJson, EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import { isCaseOpen, isEmployeeActive, type CaseRecord, type CustomerProfile, type Employee } from '../model.ts';

/** Employee status as policies see it. */
export type ActorStatus = 'active' | 'suspended' | 'left' | 'unknown';

/**
 * The principal used when no employee record backs a request. Model ids cannot contain
 * parentheses, so it never collides with a real employee.
 */
export const UNKNOWN_ACTOR_ID = '(unknown)';

export const LEDGER_UID: EntityUidJson = Object.freeze({ type: 'Ledger', id: 'main' });
export const DIRECTORY_UID: EntityUidJson = Object.freeze({ type: 'Directory', id: 'main' });

const NO_FIELDS: readonly string[] = Object.freeze([]);
const NO_PARENTS: EntityUidJson[] = [];

export function actorStatus(e: Employee, now: Date): Exclude<ActorStatus, 'unknown'> {
  if (isEmployeeActive(e, now)) return 'active';
  return e.status === 'suspended' ? 'suspended' : 'left';
}

/**
 * Employee::"id", a member of Role::"<role>". `allowedFields` is the role's reveal allowance
 * from roles.json (empty for a role the file does not define).
 */
export function employeeEntity(e: Employee, now: Date, allowedFields: readonly string[], keep: ReadonlySet<string>): EntityJson {
  const attrs: Record<string, CedarValueJson> = {};
  if (keep.has('id')) attrs.id = e.id;
  if (keep.has('status')) attrs.status = actorStatus(e, now);
  if (keep.has('team')) attrs.team = e.team;
  if (keep.has('location')) attrs.location = e.location;
  if (keep.has('allowedFields')) attrs.allowedFields = allowedFields as string[];
  return { uid: { type: 'Employee', id: e.id }, attrs, parents: [{ type: 'Role', id: e.role }] };
}

/** The principal for a request with no employee record: status "unknown", no role, no fields. */
export function unknownActorEntity(keep: ReadonlySet<string>): EntityJson {
  const attrs: Record<string, CedarValueJson> = {};
  if (keep.has('id')) attrs.id = UNKNOWN_ACTOR_ID;
  if (keep.has('status')) attrs.status = 'unknown';
  if (keep.has('team')) attrs.team = '';
  if (keep.has('location')) attrs.location = '';
  if (keep.has('allowedFields')) attrs.allowedFields = NO_FIELDS as string[];
  return { uid: { type: 'Employee', id: UNKNOWN_ACTOR_ID }, attrs, parents: NO_PARENTS };
}

export function customerEntity(c: CustomerProfile, keep: ReadonlySet<string>): EntityJson {
  const attrs: Record<string, CedarValueJson> = {};
  if (keep.has('id')) attrs.id = c.id;
  if (keep.has('country')) attrs.country = c.country;
  // Optional in the schema: Cedar has no null, so an unknown region is an absent attribute.
  if (keep.has('region') && c.region !== null) attrs.region = c.region;
  if (keep.has('canary')) attrs.canary = c.canary;
  if (keep.has('vip')) attrs.vip = c.vip;
  return { uid: { type: 'Customer', id: c.id }, attrs, parents: NO_PARENTS };
}

/** The case a purpose names, as the reveal context's `case` record. */
export interface CaseInfo {
  [key: string]: CedarValueJson;
  id: string;
  assignee: string;
  customer: string;
  open: boolean;
  kind: string;
}

export function caseInfo(c: CaseRecord, now: Date): CaseInfo {
  return { id: c.id, assignee: c.employee, customer: c.customer, open: isCaseOpen(c, now), kind: c.kind };
}

/** Case::"id", for actions on the case itself (view, manage). */
/** What a policy may know of an alert: whom it is about, how severe, in which state. */
export interface AlertFacts {
  id: string;
  /** The employee id the alert is about. */
  subject: string;
  severity: string;
  state: string;
}

export function alertEntity(a: AlertFacts, keep: ReadonlySet<string>): EntityJson {
  const attrs: Record<string, CedarValueJson> = {};
  if (keep.has('subject')) attrs.subject = a.subject;
  if (keep.has('severity')) attrs.severity = a.severity;
  if (keep.has('state')) attrs.state = a.state;
  return { uid: { type: 'Alert', id: a.id }, attrs, parents: NO_PARENTS };
}

export function caseEntity(c: CaseRecord, now: Date, keep: ReadonlySet<string>): EntityJson {
  const attrs: Record<string, CedarValueJson> = {};
  if (keep.has('id')) attrs.id = c.id;
  if (keep.has('assignee')) attrs.assignee = c.employee;
  if (keep.has('customer')) attrs.customer = c.customer;
  if (keep.has('open')) attrs.open = isCaseOpen(c, now);
  if (keep.has('kind')) attrs.kind = c.kind;
  return { uid: { type: 'Case', id: c.id }, attrs, parents: NO_PARENTS };
}
