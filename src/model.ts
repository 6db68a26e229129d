/**
 * Custos's domain records and the interchange contract (docs/formats.md, DESIGN.md).
 * Every record that enters — a file line, an HTTP body — is parsed here into a typed
 * value, with an error naming the field (and the file line when there is one).
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
// The full metadata: validity is checked against each country's number patterns, not just lengths.
import { parsePhoneNumberFromString as parseWithPatterns } from 'libphonenumber-js/max';
import { InvalidInputError } from './errors.ts';
import { findUnsafeText, jsonMayHoldUnsafeText } from './unsafe-text.ts';

export interface Where {
  file?: string;
  line?: number;
}

/**
 * Customer attributes kept in clear: needed to route, mask, notify and decide, never identifying
 * alone. `entity` is the company's legal entity holding the account (config/entities.json): a
 * fact about the company, not about the person, which notices need to know who speaks.
 */
export const CUSTOMER_CLEAR_KEYS = ['id', 'country', 'region', 'locale', 'canary', 'vip', 'entity'] as const;

/** A customer as imported: clear profile + PII fields (everything else, encrypted by the vault). */
export interface CustomerInput {
  id: string;
  country: string;
  region?: string;
  locale?: string;
  canary: boolean;
  vip: boolean;
  /** The legal entity holding the account (an entity id of config/entities.json), when the record says. */
  entity?: string;
  /** email, phone, name and any further PII field, as given. */
  pii: Record<string, string>;
}

/** The clear part of a stored customer. */
export interface CustomerProfile {
  id: string;
  country: string;
  region: string | null;
  locale: string | null;
  canary: boolean;
  vip: boolean;
  /** The legal entity holding the account, when the record names one (else the entities' rules decide). */
  entity?: string | null;
  /** Names of the PII fields the record holds (values stay in the vault). */
  fields: string[];
}

export const EMPLOYEE_STATUSES = ['active', 'suspended'] as const;
export type EmployeeStatus = (typeof EMPLOYEE_STATUSES)[number];

export interface Employee {
  id: string;
  name: string;
  team: string;
  role: string;
  location: string;
  hiredAt: string;
  leftAt?: string;
  manager?: string;
  status: EmployeeStatus;
  /** Unknown fields from the source, kept as given. */
  extra?: Record<string, unknown>;
}

export interface CaseRecord {
  id: string;
  employee: string;
  customer: string;
  openedAt: string;
  closedAt?: string;
  kind: string;
  extra?: Record<string, unknown>;
}

export const ACCESS_ACTIONS = ['view', 'reveal', 'search', 'export', 'update', 'delete'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];
export type Decision = 'allow' | 'deny';

export interface Purpose {
  kind: string;
  ref: string;
}

/** What an event acted on (DESIGN.md `target`). */
export const TARGET_TYPES = ['customer', 'employee', 'case', 'ledger', 'directory', 'key', 'token', 'incident', 'alert'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

export interface EventTarget {
  type: TargetType;
  /** The record's id; for the directory, ledger and keys, a fixed name (`customers`, `ledger`, `kek`, `signing`). */
  id: string;
}

/** The operation an event records, finer than `action` (DESIGN.md `operation`). */
export const OPERATIONS = [
  'view', 'search', 'reveal',
  'create', 'replace', 'update', 'suspend', 'reinstate', 'reassign', 'close', 'reopen', 'delete',
  'read', 'export', 'import', 'issue', 'rotate', 'init', 'notify',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** One non-PII attribute a change touched: its value before and after (null: absent). */
export interface AttributeChange {
  before: string | null;
  after: string | null;
}

/** A search as recorded: never the query itself, only its kind, a keyed hash of it and the hit count. */
export interface SearchRecord {
  kind: 'email' | 'phone';
  /** Keyed hash (hex) of the normalized query: equal queries hash equal, so repeated probes show. */
  hash: string;
  hits: number;
}

/**
 * One access decision, the unit the ledger records and the stream carries (DESIGN.md events.jsonl).
 * Files from other systems carry the first block only; events Custos records itself add the rest.
 * Every added field is optional, so entries recorded before they existed stay valid and readable.
 */
export interface AccessEvent {
  id: string;
  time: string;
  actor: string;
  action: AccessAction;
  customers: string[];
  /** PII fields returned in clear (empty for a masked view or a deny). */
  fields: string[];
  purpose?: Purpose;
  decision: Decision;
  /** Why a decision was a deny (a DenyReason), absent on allow. */
  reason?: string;
  channel?: string;
  ip?: string;
  /** What the act was on. */
  target?: EventTarget;
  operation?: Operation;
  /** Fields asked for, recorded on a deny too (apart from `fields`, those returned). */
  requested?: string[];
  /** For changes: before → after of each non-PII attribute that changed. */
  change?: Record<string, AttributeChange>;
  /** For searches. */
  search?: SearchRecord;
  /** Facts about an operator act that have no field of their own (import: file, sha256, counts; token: lifetime). */
  details?: Record<string, string | number | boolean>;
}

/** An access event once recorded: its position in the ledger. */
export interface RecordedEvent extends AccessEvent {
  seq: number;
}

/** An access event back from its ledger entry bytes; undefined for an entry that is not one. */
export function decodeAccessEvent(bytes: Uint8Array): AccessEvent | undefined {
  try {
    const v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as Partial<AccessEvent>;
    if (typeof v.id === 'string' && typeof v.actor === 'string' && typeof v.time === 'string' && Array.isArray(v.customers) && Array.isArray(v.fields)) {
      return v as AccessEvent;
    }
  } catch {
    /* not an event */
  }
  return undefined;
}

// ---------------------------------------------------------------- field checks

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const COUNTRY_RE = /^[A-Z]{2}$/;
const REGION_RE = /^([A-Z]{2})-[A-Z0-9]{1,3}$/;
// RFC 3339 date-time with a required offset.
/** 0000–9999, days 01–28 and hours 00–23 only: every such value is valid and toISOString gives it back unchanged. */
const CANONICAL_TIME_RE = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;
const PII_KEY_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

function fail(message: string, field: string, where: Where | undefined): never {
  const at = where?.file ? `${where.file}${where.line !== undefined ? `:${where.line}` : ''}: ` : '';
  throw new InvalidInputError(`${at}field "${field}": ${message}`, { ...where, field });
}

function asObject(raw: unknown, where: Where | undefined): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    const at = where?.file ? `${where.file}${where.line !== undefined ? `:${where.line}` : ''}: ` : '';
    throw new InvalidInputError(`${at}expected a JSON object`, { ...where });
  }
  return raw as Record<string, unknown>;
}

function requiredString(o: Record<string, unknown>, field: string, where?: Where): string {
  const v = o[field];
  if (v === undefined || v === null || v === '') fail('is required', field, where);
  if (typeof v !== 'string') fail(`must be a string, got ${typeof v}`, field, where);
  if (v.length > 4096) fail('is longer than 4096 characters', field, where);
  return v;
}

function optionalString(o: Record<string, unknown>, field: string, where?: Where): string | undefined {
  const v = o[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') fail(`must be a string, got ${typeof v}`, field, where);
  return v;
}

function optionalBoolean(o: Record<string, unknown>, field: string, where?: Where): boolean {
  const v = o[field];
  if (v === undefined || v === null || v === '') return false;
  if (typeof v === 'boolean') return v;
  // CSV carries booleans as text.
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  fail('must be true or false', field, where);
}

export function checkId(value: string, field: string, where?: Where): string {
  if (!ID_RE.test(value)) fail('must be 1-128 characters of letters, digits and . _ : @ - (starting with a letter or digit)', field, where);
  return value;
}

export function checkTime(value: string, field: string, where?: Where): string {
  // Already in the form toISOString gives, with a day and an hour that cannot roll over (the
  // usual case in files: events and cases by the million): it is its own normal form.
  if (CANONICAL_TIME_RE.test(value)) return value;
  // The value is not echoed: in a file with shifted columns it may be anyone's e-mail.
  if (!RFC3339_RE.test(value) || Number.isNaN(Date.parse(value))) fail('must be an RFC 3339 date-time such as 2026-01-31T09:00:00Z', field, where);
  return new Date(value).toISOString();
}

/** Whether `value` has the shape of an e-mail address (what parseCustomer accepts). */
export function isEmailAddress(value: string): boolean {
  return EMAIL_RE.test(value.trim());
}

export function normalizeEmail(value: string): string {
  return value.trim().toLowerCase();
}

/** E.164 form of a phone number, reading national numbers in the customer's country (for lookups: lengths only). */
export function normalizePhone(value: string, country?: string): string | undefined {
  const parsed = parsePhoneNumberFromString(value, country as CountryCode | undefined);
  return parsed && parsed.isPossible() ? parsed.number : undefined;
}

/**
 * E.164 form of a phone number that can be assigned in its country: its digits match one of
 * the country's number patterns, not only a possible length ("12345" in DE is possible, not
 * valid). What records are checked with; normalizePhone gives the same E.164 form.
 */
export function validPhone(value: string, country?: string): string | undefined {
  const parsed = parseWithPatterns(value, country as CountryCode | undefined);
  return parsed && parsed.isValid() ? parsed.number : undefined;
}

/** Names no record field may have: as an object key, "__proto__" sets the prototype instead. */
const RESERVED_FIELD_NAMES = new Set(['__proto__']);

// ---------------------------------------------------------------- records

/** Parse a customer record from the interchange contract. Unknown keys become PII fields. */
export function parseCustomer(raw: unknown, where?: Where): CustomerInput {
  const o = asObject(raw, where);
  const { id, country, region } = customerPlace(o, where);
  let locale = optionalString(o, 'locale', where);
  if (locale !== undefined) {
    try {
      locale = Intl.getCanonicalLocales(locale)[0];
    } catch {
      fail('must be a BCP 47 language tag such as "it-IT"', 'locale', where);
    }
  }
  const entity = optionalString(o, 'entity', where);
  if (entity !== undefined) checkId(entity, 'entity', where);
  const email = requiredString(o, 'email', where).trim();
  if (!EMAIL_RE.test(email)) fail('is not an e-mail address', 'email', where);
  const phoneRaw = requiredString(o, 'phone', where);
  const phone = validPhone(phoneRaw, country);
  if (!phone) fail(`is not a valid phone number in ${country} or in international form (+<country code>…)`, 'phone', where);
  const name = requiredString(o, 'name', where).trim();

  // Every other field is PII, whatever its name: "constructor" or "toString" is kept like
  // "loyaltyId" (own keys only, never what Object.prototype has).
  const pii: Record<string, string> = { email, phone, name };
  for (const [key, value] of Object.entries(o)) {
    if ((CUSTOMER_CLEAR_KEYS as readonly string[]).includes(key) || Object.hasOwn(pii, key)) continue;
    if (value === undefined || value === null || value === '') continue;
    if (!PII_KEY_RE.test(key)) fail('field names must be a letter, then letters, digits and _ (at most 64)', key, where);
    if (RESERVED_FIELD_NAMES.has(key)) fail('is a reserved name; rename this field', key, where);
    pii[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return {
    id,
    country,
    ...(region !== undefined ? { region } : {}),
    ...(locale !== undefined ? { locale } : {}),
    canary: optionalBoolean(o, 'canary', where),
    vip: optionalBoolean(o, 'vip', where),
    ...(entity !== undefined ? { entity } : {}),
    pii,
  };
}

/**
 * What a customer record says in clear and detection reads (id, country, region, the canary
 * and VIP flags), checked as parseCustomer checks them; the personal fields are not read, so a
 * detection directory of many customers loads without parsing every phone number.
 */
export function parseCustomerFlags(raw: unknown, where?: Where): { id: string; country: string; region?: string; canary: boolean; vip: boolean } {
  const o = asObject(raw, where);
  const { id, country, region } = customerPlace(o, where);
  return { id, country, ...(region !== undefined ? { region } : {}), canary: optionalBoolean(o, 'canary', where), vip: optionalBoolean(o, 'vip', where) };
}

function customerPlace(o: Record<string, unknown>, where: Where | undefined): { id: string; country: string; region: string | undefined } {
  const id = checkId(requiredString(o, 'id', where), 'id', where);
  const country = requiredString(o, 'country', where).toUpperCase();
  if (!COUNTRY_RE.test(country)) fail('must be an ISO 3166-1 alpha-2 code such as "IT"', 'country', where);
  const region = optionalString(o, 'region', where)?.toUpperCase();
  if (region !== undefined) {
    const m = REGION_RE.exec(region);
    if (!m) fail('must be an ISO 3166-2 code such as "US-CA"', 'region', where);
    if (m[1] !== country) fail(`must be a subdivision of ${country}`, 'region', where);
  }
  return { id, country, region };
}

const EMPLOYEE_KEYS = ['id', 'name', 'team', 'role', 'location', 'hiredAt', 'leftAt', 'manager', 'status'];

function extraOf(o: Record<string, unknown>, known: string[], where: Where | undefined): Record<string, unknown> | undefined {
  // Nothing allocated for the usual record without extra fields (cases are read by the million).
  let extra: Record<string, unknown> | undefined;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (known.includes(k) || v === undefined || v === '') continue;
    if (RESERVED_FIELD_NAMES.has(k)) fail('is a reserved name; rename this field', k, where);
    (extra ??= {})[k] = v;
  }
  return extra;
}

export function parseEmployee(raw: unknown, where?: Where): Employee {
  const o = asObject(raw, where);
  const id = checkId(requiredString(o, 'id', where), 'id', where);
  const status = optionalString(o, 'status', where) ?? 'active';
  if (!(EMPLOYEE_STATUSES as readonly string[]).includes(status)) fail(`must be one of ${EMPLOYEE_STATUSES.join(', ')}`, 'status', where);
  const leftAt = optionalString(o, 'leftAt', where);
  const manager = optionalString(o, 'manager', where);
  const extra = extraOf(o, EMPLOYEE_KEYS, where);
  return {
    id,
    name: requiredString(o, 'name', where),
    team: requiredString(o, 'team', where),
    role: checkId(requiredString(o, 'role', where), 'role', where),
    location: requiredString(o, 'location', where),
    hiredAt: checkTime(requiredString(o, 'hiredAt', where), 'hiredAt', where),
    ...(leftAt !== undefined ? { leftAt: checkTime(leftAt, 'leftAt', where) } : {}),
    ...(manager !== undefined ? { manager: checkId(manager, 'manager', where) } : {}),
    status: status as EmployeeStatus,
    ...(extra ? { extra } : {}),
  };
}

const CASE_KEYS = ['id', 'employee', 'customer', 'openedAt', 'closedAt', 'kind'];

export function parseCase(raw: unknown, where?: Where): CaseRecord {
  const o = asObject(raw, where);
  const closedAt = optionalString(o, 'closedAt', where);
  const openedAt = checkTime(requiredString(o, 'openedAt', where), 'openedAt', where);
  const closed = closedAt !== undefined ? checkTime(closedAt, 'closedAt', where) : undefined;
  if (closed !== undefined && closed < openedAt) fail('is before openedAt', 'closedAt', where);
  const extra = extraOf(o, CASE_KEYS, where);
  return {
    id: checkId(requiredString(o, 'id', where), 'id', where),
    employee: checkId(requiredString(o, 'employee', where), 'employee', where),
    customer: checkId(requiredString(o, 'customer', where), 'customer', where),
    openedAt,
    ...(closed !== undefined ? { closedAt: closed } : {}),
    kind: requiredString(o, 'kind', where),
    ...(extra ? { extra } : {}),
  };
}

/** An employee may act only while active and not yet gone. */
export function isEmployeeActive(e: Employee, now: Date): boolean {
  return e.status === 'active' && (e.leftAt === undefined || Date.parse(e.leftAt) > now.getTime());
}

/** A case justifies access only while open at `now`. */
export function isCaseOpen(c: CaseRecord, now: Date): boolean {
  return Date.parse(c.openedAt) <= now.getTime() && (c.closedAt === undefined || Date.parse(c.closedAt) > now.getTime());
}

/** An access event as another system's log gives it (DESIGN.md events.jsonl): the id is optional. */
export type AccessEventInput = Omit<AccessEvent, 'id'> & { id?: string };

const EVENT_KEYS = new Set([
  'id', 'time', 'actor', 'action', 'customers', 'fields', 'purpose', 'decision', 'reason', 'channel', 'ip',
  'target', 'operation', 'requested', 'change', 'search', 'details',
]);
/** More customers than this in one event is a whole export: split it into several events. */
export const MAX_EVENT_CUSTOMERS = 10_000;
const FIELD_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const SHORT_TEXT = 256;

function idList(o: Record<string, unknown>, field: string, max: number, where?: Where): string[] {
  const v = o[field];
  if (!Array.isArray(v)) fail('must be an array of ids', field, where);
  if (v.length > max) fail(`has more than ${max} entries`, field, where);
  const ids: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'string') fail('must hold strings', `${field}.${i}`, where);
    // The field's name is built only for an error: this runs for every id of every event.
    if (!ID_RE.test(x)) checkId(x, `${field}.${i}`, where);
    ids.push(x);
  }
  return ids;
}

function fieldNames(v: unknown, field: string, where?: Where): string[] {
  if (!Array.isArray(v)) fail('must be an array of field names', field, where);
  return v.map((x, i) => {
    if (typeof x !== 'string' || !FIELD_NAME_RE.test(x)) fail('must be a field name (a letter, then letters, digits and _)', `${field}.${i}`, where);
    return x;
  });
}

function shortText(o: Record<string, unknown>, field: string, where?: Where): string | undefined {
  const v = optionalString(o, field, where);
  if (v !== undefined && v.length > SHORT_TEXT) fail(`is longer than ${SHORT_TEXT} characters`, field, where);
  return v;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], field: string, where?: Where): T {
  if (!(allowed as readonly string[]).includes(value)) fail(`must be one of ${allowed.join(', ')}`, field, where);
  return value as T;
}

/**
 * Parse an access event from an events file or another system's log (DESIGN.md events.jsonl),
 * keeping a missing id missing (ingest assigns one). The DESIGN.md fields are checked; the
 * fields Custos records itself (target, operation, requested, change, search, details) are
 * checked when given; any other field is kept in `details` (a text value as given, anything
 * else as its JSON). Strings holding NUL, bidirectional controls or lone surrogates are refused:
 * a ledger entry must read as what it is. `json`, the text `raw` was parsed from when the
 * caller has it, spares that walk when the text itself shows it cannot hold any.
 */
export function parseAccessEventInput(raw: unknown, where?: Where, json?: string): AccessEventInput {
  const o = asObject(raw, where);
  const unsafe = json === undefined || jsonMayHoldUnsafeText(json) ? findUnsafeText(o) : undefined;
  if (unsafe) fail(`${unsafe.problem}; text may not contain NUL, bidirectional controls or lone surrogates`, unsafe.path, where);
  const id = optionalString(o, 'id', where);
  const purposeRaw = o.purpose;
  let purpose: Purpose | undefined;
  if (purposeRaw !== undefined && purposeRaw !== null) {
    const p = asObject(purposeRaw, where);
    purpose = { kind: checkId(requiredString(p, 'kind', where), 'purpose.kind', where), ref: checkId(requiredString(p, 'ref', where), 'purpose.ref', where) };
  }
  // Assigned one by one in the contract's order (no spread of temporary objects: this runs for
  // every line of an events file).
  const event = {} as AccessEventInput;
  if (id !== undefined) event.id = checkId(id, 'id', where);
  event.time = checkTime(requiredString(o, 'time', where), 'time', where);
  event.actor = checkId(requiredString(o, 'actor', where), 'actor', where);
  event.action = oneOf(requiredString(o, 'action', where), ACCESS_ACTIONS, 'action', where);
  event.customers = idList(o, 'customers', MAX_EVENT_CUSTOMERS, where);
  event.fields = o.fields === undefined ? fail('is required (an empty array for a masked view)', 'fields', where) : fieldNames(o.fields, 'fields', where);
  if (purpose) event.purpose = purpose;
  event.decision = oneOf(requiredString(o, 'decision', where), ['allow', 'deny'] as const, 'decision', where);
  const reason = shortText(o, 'reason', where);
  if (reason !== undefined) event.reason = reason;
  const channel = shortText(o, 'channel', where);
  if (channel !== undefined) event.channel = channel;
  const ip = shortText(o, 'ip', where);
  if (ip !== undefined) event.ip = ip;
  if (o.requested !== undefined && o.requested !== null) event.requested = fieldNames(o.requested, 'requested', where);
  const operation = optionalString(o, 'operation', where);
  if (operation !== undefined) event.operation = oneOf(operation, OPERATIONS, 'operation', where);
  if (o.target !== undefined && o.target !== null) {
    const t = asObject(o.target, where);
    event.target = { type: oneOf(requiredString(t, 'type', where), TARGET_TYPES, 'target.type', where), id: checkId(requiredString(t, 'id', where), 'target.id', where) };
  }
  if (o.search !== undefined && o.search !== null) {
    const s = asObject(o.search, where);
    const hits = s.hits;
    if (typeof hits !== 'number' || !Number.isInteger(hits) || hits < 0) fail('must be a whole number, 0 or more', 'search.hits', where);
    const hash = requiredString(s, 'hash', where);
    if (!/^[0-9a-f]{16,128}$/.test(hash)) fail('must be hex', 'search.hash', where);
    event.search = { kind: oneOf(requiredString(s, 'kind', where), ['email', 'phone'] as const, 'search.kind', where), hash, hits };
  }
  if (o.change !== undefined && o.change !== null) event.change = changeOf(asObject(o.change, where), where);
  let details: Record<string, string | number | boolean> | undefined;
  if (o.details !== undefined && o.details !== null) {
    for (const [k, v] of Object.entries(asObject(o.details, where))) {
      if (RESERVED_FIELD_NAMES.has(k)) fail('is a reserved name; rename this field', `details.${k}`, where);
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') fail('must hold only text, numbers and true/false', `details.${k}`, where);
      (details ??= {})[k] = v;
    }
  }
  for (const k in o) {
    if (!Object.hasOwn(o, k) || EVENT_KEYS.has(k)) continue;
    const v = o[k];
    if (v === undefined || v === null) continue;
    if (RESERVED_FIELD_NAMES.has(k)) fail('is a reserved name; rename this field', k, where);
    (details ??= {})[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
  }
  if (details !== undefined) event.details = details;
  return event;
}

/**
 * An access event from an events file: as parseAccessEventInput, and an event without an id is
 * named by its place (`<file>:<line>`), which is stable for the same file.
 */
export function parseAccessEvent(raw: unknown, where?: Where, json?: string): AccessEvent {
  const event = parseAccessEventInput(raw, where, json);
  if (event.id !== undefined) return event as AccessEvent;
  const id = where?.line !== undefined ? `${where.file ?? 'line'}:${where.line}` : fail('is required', 'id', where);
  return { ...event, id };
}

function changeOf(o: Record<string, unknown>, where: Where | undefined): Record<string, AttributeChange> {
  const change: Record<string, AttributeChange> = {};
  for (const [key, value] of Object.entries(o)) {
    if (RESERVED_FIELD_NAMES.has(key)) fail('is a reserved name; rename this field', `change.${key}`, where);
    const c = asObject(value, where);
    const side = (v: unknown, f: string): string | null => {
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') fail('must be text or null', `change.${key}.${f}`, where);
      return v;
    };
    change[key] = { before: side(c.before, 'before'), after: side(c.after, 'after') };
  }
  return change;
}
