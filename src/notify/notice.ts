/**
 * What a customer notice says, as data: the incident's facts (the same for everyone) and, per
 * customer, what of theirs was disclosed and when, built from an incident in the store and its
 * blast radius (incident-notices.ts).
 */
import { InvalidInputError } from '../errors.ts';
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
  /** The legal entity holding their account, when their record names one: it speaks (entities.ts). */
  entity?: string | null;
  /** Names of the PII fields held for them, to say which were not disclosed. */
  fields: string[];
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
