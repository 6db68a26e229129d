/**
 * The exact blast radius of a subject employee: every customer whose data they revealed or
 * exported in a window, with which fields, when first and last, how many events, and how many
 * of those accesses had no valid purpose; totals by field, country and region.
 *
 * Complete by construction: every allowed reveal or export of the subject in the window is
 * read (from the store's access-event index alone, which holds each event's customers, fields
 * and purpose, or streamed from a file), none sampled. State is one entry per affected
 * customer and per case looked up, never per event.
 */
import type { AccessEvent } from '../model.ts';
import { EXPOSING_ACTIONS, ExposurePageBuilder, type ExposurePage } from '../store/exposures.ts';
import type { CustomerPlace } from '../store/customers.ts';
import { PurposeJudge, type CaseSource } from './case-history.ts';

/** Who and when: `from` inclusive, `to` exclusive, both RFC 3339 (either may be open). */
export interface RadiusWindow {
  employee: string;
  from?: string;
  to?: string;
}

/** Where the cases and customers behind the events are looked up: the store, or files. */
export interface RadiusDirectory extends CaseSource {
  /** Country and region of the customers among `ids` that are known. */
  places(ids: readonly string[]): Promise<Map<string, CustomerPlace>>;
}

export interface CustomerExposure {
  customer: string;
  /** PII fields revealed or exported in clear, sorted. */
  fields: string[];
  first: string;
  last: string;
  /** Events that revealed or exported this customer's data. */
  events: number;
  /** Of those, how many had no valid purpose for this customer. */
  unjustified: number;
  /** From the customer's clear profile; "unknown" when the record is not found. */
  country: string;
  region?: string;
  /** The legal entity holding the account, when the customer's record names one. */
  entity?: string;
}

export interface BlastRadius {
  employee: string;
  from?: string;
  to?: string;
  /** Customers affected. */
  total: number;
  /** Events of the subject that revealed or exported data in the window. */
  events: number;
  /** Customers with at least one access without a valid purpose. */
  unjustifiedCustomers: number;
  customers: CustomerExposure[];
  /** Field → customers whose field was revealed. */
  byField: Record<string, number>;
  /** Country → customers affected. */
  byCountry: Record<string, number>;
  /** ISO 3166-2 region → customers affected (customers whose profile names one). */
  byRegion: Record<string, number>;
  notes?: string[];
}

export { EXPOSING_ACTIONS };

/** Whether an event is one a blast radius counts: an allowed reveal or export that returned fields about some customer. */
export function exposesData(event: AccessEvent): boolean {
  return event.decision === 'allow' && (EXPOSING_ACTIONS as readonly string[]).includes(event.action) && event.fields.length > 0 && event.customers.length > 0;
}

export const UNKNOWN_COUNTRY = 'unknown';

interface Exposure {
  fields: Set<string>;
  firstMs: number;
  lastMs: number;
  events: number;
  unjustified: number;
}

export function inWindow(window: RadiusWindow, event: AccessEvent): boolean {
  return event.actor === window.employee && inTimeWindow(window, event);
}

function inTimeWindow(window: { from?: string; to?: string }, event: AccessEvent): boolean {
  const t = Date.parse(event.time);
  return (window.from === undefined || t >= Date.parse(window.from)) && (window.to === undefined || t < Date.parse(window.to));
}

/**
 * The exposures among events read a page at a time (from a file, or made up for an accident):
 * one row per selected event and distinct customer, as the access-event index gives them.
 */
export async function* eventExposures(pages: AsyncIterable<readonly AccessEvent[]>, selects: (e: AccessEvent) => boolean): AsyncGenerator<ExposurePage> {
  let seq = 0;
  for await (const events of pages) {
    const page = new ExposurePageBuilder();
    for (const e of events) {
      seq++;
      if (!selects(e) || !exposesData(e)) continue;
      const t = Date.parse(e.time);
      const fieldsKey = JSON.stringify(e.fields);
      for (const customer of new Set(e.customers)) page.add(seq, t, customer, e.actor, fieldsKey, () => [...new Set(e.fields)].sort(), e.purpose?.kind, e.purpose?.ref ?? '');
    }
    if (page.length > 0) yield page.build();
  }
}

/** Compute the blast radius from the subject's exposures in the window, a page at a time. */
export function blastRadius(window: RadiusWindow, exposures: AsyncIterable<ExposurePage>, directory: RadiusDirectory): Promise<BlastRadius> {
  return radiusOf(window, exposures, directory);
}

/** The subject's exposures among events read from a file (pages may hold other events: they are skipped). */
export function windowExposures(window: RadiusWindow, pages: AsyncIterable<readonly AccessEvent[]>): AsyncGenerator<ExposurePage> {
  return eventExposures(pages, (e) => inWindow(window, e));
}

/** What an accidental exposure is, as a query over events: those of a channel and/or an actor, in a window. */
export interface ExposureQuery {
  channel?: string;
  actor?: string;
  from: string;
  to: string;
}

/** The blast radius of the events an exposure query selects (whoever the actor: a bug, a system). */
export function exposureRadius(query: ExposureQuery, pages: AsyncIterable<readonly AccessEvent[]>, directory: RadiusDirectory): Promise<BlastRadius> {
  const selects = (e: AccessEvent) => (query.channel === undefined || e.channel === query.channel) && (query.actor === undefined || e.actor === query.actor) && inTimeWindow(query, e);
  return radiusOf({ employee: query.actor ?? '', from: query.from, to: query.to }, eventExposures(pages, selects), directory);
}

async function radiusOf(window: RadiusWindow, exposurePages: AsyncIterable<ExposurePage>, directory: RadiusDirectory): Promise<BlastRadius> {
  const exposures = new Map<string, Exposure>();
  const judge = new PurposeJudge(directory);
  let events = 0;
  // Rows of one event are adjacent, in one page.
  let lastSeq = -1;
  for await (const page of exposurePages) {
    await judge.prefetch(page.purposes);
    const fieldSets = page.fieldSets;
    for (let i = 0; i < page.length; i++) {
      const seq = page.seq[i]!;
      if (seq !== lastSeq) {
        events++;
        lastSeq = seq;
      }
      const t = page.timeMs[i]!;
      const customer = page.customers[page.customer[i]!]!;
      let x = exposures.get(customer);
      if (!x) exposures.set(customer, (x = { fields: new Set(), firstMs: t, lastMs: t, events: 0, unjustified: 0 }));
      for (const f of fieldSets[page.fieldSet[i]!]!) x.fields.add(f);
      if (t < x.firstMs) x.firstMs = t;
      if (t > x.lastMs) x.lastMs = t;
      x.events++;
      const p = page.purpose[i]!;
      if (judge.unjustified(p < 0 ? undefined : page.purposes[p], page.actors[page.actor[i]!]!, t, customer)) x.unjustified++;
    }
  }
  const ids = [...exposures.keys()].sort();
  const places = await directory.places(ids);
  const customers: CustomerExposure[] = [];
  const byField: Record<string, number> = {};
  const byCountry: Record<string, number> = {};
  const byRegion: Record<string, number> = {};
  let unjustifiedCustomers = 0;
  for (const id of ids) {
    const x = exposures.get(id)!;
    const place = places.get(id);
    const fields = [...x.fields].sort();
    const country = place?.country ?? UNKNOWN_COUNTRY;
    customers.push({
      customer: id,
      fields,
      first: new Date(x.firstMs).toISOString(),
      last: new Date(x.lastMs).toISOString(),
      events: x.events,
      unjustified: x.unjustified,
      country,
      ...(place?.region ? { region: place.region } : {}),
      ...(place?.entity ? { entity: place.entity } : {}),
    });
    for (const f of fields) byField[f] = (byField[f] ?? 0) + 1;
    byCountry[country] = (byCountry[country] ?? 0) + 1;
    if (place?.region) byRegion[place.region] = (byRegion[place.region] ?? 0) + 1;
    if (x.unjustified > 0) unjustifiedCustomers++;
  }
  return {
    employee: window.employee,
    ...(window.from !== undefined ? { from: window.from } : {}),
    ...(window.to !== undefined ? { to: window.to } : {}),
    total: customers.length,
    events,
    unjustifiedCustomers,
    customers,
    byField: sortedKeys(byField),
    byCountry: sortedKeys(byCountry),
    byRegion: sortedKeys(byRegion),
    ...(directory.knowsCases ? {} : { notes: ['no cases were given: only accesses without any purpose are counted as unjustified'] }),
  };
}

function sortedKeys(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
