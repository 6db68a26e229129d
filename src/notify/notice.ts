/**
 * What a customer notice says, as data: the incident's facts (the same for everyone) and, per
 * customer, what of theirs was disclosed and when. The respond module builds these from an
 * incident's blast radius; `custos notify queue --input FILE` reads them from a file.
 */
import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../errors.ts';
import { checkId, checkTime } from '../model.ts';
import type { Incident, TimelineEntry } from '../store/incidents.ts';

/** Who received the data (as the obligations input names it). */
export const RECIPIENT_KINDS = ['third-party', 'public', 'unknown'] as const;
export type RecipientKind = (typeof RECIPIENT_KINDS)[number];

/** What happened, as the notice tells it; an incident of another kind gets the generic sentence. */
export const NOTICE_KINDS = ['insider-disclosure', 'accidental-exposure'] as const;

/** What the company did, each a sentence in the catalogs (`action.<name>`). */
export const NOTICE_ACTIONS = ['access-revoked', 'employee-dismissed', 'law-enforcement', 'recipient-blocked', 'exposure-fixed'] as const;
export type NoticeAction = (typeof NOTICE_ACTIONS)[number];

/** An authority the incident was reported to. */
export interface InformedAuthority {
  /** As the customer should read it, e.g. "Garante per la protezione dei dati personali (Italy)". */
  name: string;
  /** ISO 3166-1 alpha-2 or 3166-2 code whose people it speaks for; absent: everyone's. */
  jurisdiction?: string;
}

/** The incident's facts every notice states. */
export interface NoticeIncident {
  id: string;
  /** One of NOTICE_KINDS, or any other kind (told generically). */
  kind: string;
  recipient: RecipientKind;
  actions: NoticeAction[];
  authorities: InformedAuthority[];
  /** The reference number customers quote. */
  reference: string;
}

/** One affected customer: which of their fields were disclosed, first and last time. */
export interface AffectedCustomer {
  customer: string;
  fields: string[];
  /** RFC 3339 (normalized to UTC ISO). */
  first: string;
  last: string;
}

/** The clear profile of the customer a notice goes to (no PII: the address is the broker's). */
export interface NoticeRecipient {
  id: string;
  country: string;
  region: string | null;
  locale: string | null;
  /** Names of the PII fields held for them, to say which were not disclosed. */
  fields: string[];
}

/** A notices input file: the incident and every affected customer. */
export interface NoticeInput {
  incident: NoticeIncident;
  customers: AffectedCustomer[];
}

type Obj = Record<string, unknown>;

function bad(file: string, field: string, message: string): never {
  throw new InvalidInputError(`${file}: field "${field}": ${message}`, { file, field });
}

function obj(v: unknown, file: string, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(file, field, 'must be an object');
  return v as Obj;
}

function str(o: Obj, key: string, file: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.trim() === '') bad(file, `${path}${key}`, 'must be a non-empty string');
  return v;
}

function list(o: Obj, key: string, file: string, path: string): unknown[] {
  const v = o[key] ?? [];
  if (!Array.isArray(v)) bad(file, `${path}${key}`, 'must be an array');
  return v;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], file: string, field: string): T {
  if (!(allowed as readonly string[]).includes(v)) bad(file, field, `must be one of ${allowed.join(', ')}`);
  return v as T;
}

const FIELD_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Checks a notices input (parsed JSON); errors name the file and the field path. */
export function parseNoticeInput(raw: unknown, file: string): NoticeInput {
  const root = obj(raw, file, '(root)');
  const i = obj(root.incident, file, 'incident');
  const incident: NoticeIncident = {
    id: checkIdIn(str(i, 'id', file, 'incident.'), file, 'incident.id'),
    kind: str(i, 'kind', file, 'incident.'),
    recipient: oneOf(str(i, 'recipient', file, 'incident.'), RECIPIENT_KINDS, file, 'incident.recipient'),
    actions: list(i, 'actions', file, 'incident.').map((a, n) => oneOf(String(a), NOTICE_ACTIONS, file, `incident.actions[${n}]`)),
    authorities: list(i, 'authorities', file, 'incident.').map((a, n) => {
      const o = obj(a, file, `incident.authorities[${n}]`);
      const jurisdiction = o.jurisdiction === undefined ? undefined : str(o, 'jurisdiction', file, `incident.authorities[${n}].`).toUpperCase();
      return { name: str(o, 'name', file, `incident.authorities[${n}].`), ...(jurisdiction ? { jurisdiction } : {}) };
    }),
    reference: str(i, 'reference', file, 'incident.'),
  };
  const customers = list(root, 'customers', file, '').map((c, n) => parseAffected(obj(c, file, `customers[${n}]`), file, `customers[${n}].`));
  const seen = new Set<string>();
  customers.forEach((c, n) => {
    if (seen.has(c.customer)) bad(file, `customers[${n}].customer`, `customer "${c.customer}" is listed twice`);
    seen.add(c.customer);
  });
  return { incident, customers };
}

function parseAffected(o: Obj, file: string, at: string): AffectedCustomer {
  const fields = list(o, 'fields', file, at).map((f, n) => {
    if (typeof f !== 'string' || !FIELD_RE.test(f)) bad(file, `${at}fields[${n}]`, 'is not a field name');
    return f;
  });
  if (fields.length === 0) bad(file, `${at}fields`, 'must name at least one disclosed field');
  const first = checkTime(str(o, 'first', file, at), `${at}first`, { file });
  const last = checkTime(str(o, 'last', file, at), `${at}last`, { file });
  if (last < first) bad(file, `${at}last`, 'is before first');
  return { customer: checkIdIn(str(o, 'customer', file, at), file, `${at}customer`), fields: [...new Set(fields)], first, last };
}

function checkIdIn(v: string, file: string, field: string): string {
  return checkId(v, field, { file });
}

export async function readNoticeInput(file: string): Promise<NoticeInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${file}: not JSON: ${(err as Error).message}`, { file });
  }
  return parseNoticeInput(raw, file);
}

/** What an incident in the store does not say and a notice must: given by whoever queues it. */
export interface NoticeFacts {
  recipient: RecipientKind;
  /** Absent: access revoked if the incident's subject was contained, else nothing claimed. */
  actions?: NoticeAction[];
  authorities: InformedAuthority[];
  /** Absent: the incident's id. */
  reference?: string;
}

/**
 * The notice's incident from a stored incident: an insider incident tells of a disclosure, an
 * exposure of an accident; containment on its timeline means the subject's access was cut.
 */
export function noticeIncidentOf(incident: Pick<Incident, 'id' | 'kind'>, timeline: Array<Pick<TimelineEntry, 'kind'>>, facts: NoticeFacts): NoticeIncident {
  const contained = timeline.some((t) => t.kind === 'containment');
  return {
    id: incident.id,
    kind: incident.kind === 'insider' ? 'insider-disclosure' : 'accidental-exposure',
    recipient: facts.recipient,
    actions: facts.actions ?? (contained ? ['access-revoked'] : []),
    authorities: facts.authorities,
    reference: facts.reference ?? incident.id,
  };
}

/** `--authority "IT:Garante per la protezione dei dati personali"` (the jurisdiction is optional). */
export function parseAuthority(value: string): InformedAuthority {
  const m = /^([A-Z]{2}(?:-[A-Z0-9]{1,3})?):(.+)$/.exec(value.trim());
  const name = (m ? m[2]! : value).trim();
  if (name === '') throw new InvalidInputError('--authority: give the authority\'s name, optionally after its jurisdiction ("IT:Garante…")', { field: 'authority' });
  return { name, ...(m ? { jurisdiction: m[1]! } : {}) };
}
