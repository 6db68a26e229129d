/**
 * Where response work reads events, cases and customers: the store (through its access-event
 * index and repositories) or interchange files, streamed line by line. Both give the same
 * values for the same records, so a blast radius from a store equals one from its files.
 */
import { InvalidInputError } from '../errors.ts';
import { readRecords, UnreadableLine } from '../importer/read-records.ts';
import { isEmailAddress, normalizePhone, parseAccessEvent, parseCase, type AccessEvent, type CaseRecord } from '../model.ts';
import type { BlindIndexer } from '../vault/index.ts';
import type { CustomerMatcher, IndexMatch } from './attribution.ts';
import { importedHistory } from '../store/cases.ts';
import type { CustomerPlace } from '../store/customers.ts';
import type { Store } from '../store/store.ts';
import type { CaseHistoryRecord } from './case-history.ts';
import { EXPOSING_ACTIONS, eventExposures, windowExposures, type RadiusDirectory, type RadiusWindow } from './blast-radius.ts';
import type { ExposureCursor, ExposurePage } from '../store/exposures.ts';

/** Events per page: large enough to amortise a query, small enough to keep memory flat. */
export const PAGE_SIZE = 10_000;
/** Customers per index query: well under bound-parameter limits. */
const CUSTOMER_CHUNK = 1_000;

/** Exposures per page from the index: large, since a page is a few typed arrays rather than an object per row. */
const EXPOSURE_PAGE = 50_000;

/**
 * The subject's exposures (allowed reveals and exports) in the window, from the access-event
 * index alone (an indexed query by actor and time; ingested events are ledger entries like any
 * other), a page at a time.
 */
export async function* storeExposures(store: Store, window: RadiusWindow): AsyncGenerator<ExposurePage> {
  let after: ExposureCursor | undefined;
  do {
    const page: ExposurePage = await store.accessEvents.exposuresByActor(window.employee, {
      ...(window.from !== undefined ? { from: window.from } : {}),
      ...(window.to !== undefined ? { to: window.to } : {}),
      ...(after ? { after } : {}),
      limit: EXPOSURE_PAGE,
    });
    if (page.length > 0) yield page;
    after = page.next;
  } while (after);
}

/** The subject's exposures in the window, from an events.jsonl file. */
export function fileExposures(file: string, window: RadiusWindow): AsyncGenerator<ExposurePage> {
  return windowExposures(window, fileEvents(file));
}

/** Every allowed reveal and export in [from, to), from the index by time, a page at a time. */
export async function* storeExposingEventsBetween(store: Store, from: string, to: string): AsyncGenerator<AccessEvent[]> {
  let afterSeq: number | undefined;
  for (;;) {
    const page = await store.accessEvents.byTime({ from, to, actions: EXPOSING_ACTIONS, decision: 'allow', limit: PAGE_SIZE, ...(afterSeq !== undefined ? { afterSeq } : {}) });
    if (page.length === 0) return;
    yield page;
    if (page.length < PAGE_SIZE) return;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/** Every event of an events.jsonl file, a page at a time; a bad line stops with its file:line and field. */
export async function* fileEvents(file: string): AsyncGenerator<AccessEvent[]> {
  let page: AccessEvent[] = [];
  for await (const r of readRecords(file, 'jsonl')) {
    if (r instanceof UnreadableLine) throw new InvalidInputError(`${file}:${r.line}: ${r.message}`, { file, line: r.line });
    page.push(parseAccessEvent(r.value, { file, line: r.line }));
    if (page.length >= PAGE_SIZE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** Every exposure of any of `customers`, from the index alone, a chunk of customers at a time. */
export function storeCustomerExposures(store: Store): (customers: readonly string[]) => AsyncGenerator<ExposurePage> {
  const query = (chunk: readonly string[], after?: ExposureCursor) => store.accessEvents.exposuresByCustomers(chunk, { limit: EXPOSURE_PAGE, ...(after ? { after } : {}) });
  return async function* (customers) {
    const chunks: string[][] = [];
    for (let i = 0; i < customers.length; i += CUSTOMER_CHUNK) chunks.push(customers.slice(i, i + CUSTOMER_CHUNK));
    // One chunk's first page is asked for while the caller works on the one before (on SQLite the index answers in its own thread).
    let ahead = chunks.length > 0 ? query(chunks[0]!) : undefined;
    try {
      for (let c = 0; c < chunks.length; c++) {
        let page = await ahead!;
        ahead = c + 1 < chunks.length ? query(chunks[c + 1]!) : undefined;
        for (;;) {
          if (page.length > 0) yield page;
          if (!page.next) break;
          page = await query(chunks[c]!, page.next);
        }
      }
    } finally {
      // A caller that stops early leaves no query unobserved.
      void ahead?.catch(() => undefined);
    }
  };
}

/** Every exposure in an events.jsonl file (attribution skips those of customers not in the list). */
export function fileCustomerExposures(file: string): () => AsyncGenerator<ExposurePage> {
  return () => eventExposures(fileEvents(file), () => true);
}

/** Customers by blind index, from the store's index columns: nothing is decrypted. */
export function storeCustomerMatcher(store: Store): CustomerMatcher {
  return {
    async match(indexes) {
      const out: IndexMatch[] = [];
      for (const kind of ['email', 'phone'] as const) {
        for (const m of await store.customers.matchBlindIndexes(kind, indexes[kind])) out.push({ kind, index: m.index, customer: m.id, canary: m.canary });
      }
      return out;
    },
  };
}

/**
 * Customers by blind index from a customers file: each record's e-mail and phone hashed as the
 * vault hashes them (same normalization; the phone read in the customer's country), streamed.
 */
export function fileCustomerMatcher(file: string, indexer: BlindIndexer): CustomerMatcher {
  return {
    async match(indexes) {
      const wanted = { email: new Set(indexes.email), phone: new Set(indexes.phone) };
      const out: IndexMatch[] = [];
      for await (const r of readRecords(file, 'jsonl')) {
        if (r instanceof UnreadableLine) throw new InvalidInputError(`${file}:${r.line}: ${r.message}`, { file, line: r.line });
        const o = r.value as { id?: unknown; email?: unknown; phone?: unknown; country?: unknown; canary?: unknown };
        if (typeof o !== 'object' || o === null || typeof o.id !== 'string') throw new InvalidInputError(`${file}:${r.line}: field "id": is required`, { file, line: r.line, field: 'id' });
        const canary = o.canary === true || o.canary === 'true' || o.canary === '1';
        if (typeof o.email === 'string' && wanted.email.size > 0 && isEmailAddress(o.email)) {
          const index = indexer.email(o.email);
          if (wanted.email.has(index)) out.push({ kind: 'email', index, customer: o.id, canary });
        }
        const country = typeof o.country === 'string' ? o.country.toUpperCase() : undefined;
        if (typeof o.phone === 'string' && wanted.phone.size > 0 && normalizePhone(o.phone, country) !== undefined) {
          const index = indexer.phone(o.phone, country);
          if (wanted.phone.has(index)) out.push({ kind: 'phone', index, customer: o.id, canary });
        }
      }
      return out;
    },
  };
}

/** Cases and customers from the store. */
export function storeDirectory(store: Store): RadiusDirectory {
  return {
    knowsCases: true,
    async caseHistories(ids) {
      const found = await store.cases.histories(ids);
      return new Map([...found].map(([id, c]) => [id, { customer: c.record.customer, acts: c.events }]));
    },
    places: (ids) => store.customers.placesOf(ids),
  };
}

/**
 * Cases and customers from interchange files. The cases file is read once, whole (state bounded
 * by cases); the customers file is streamed for the ids asked, reading only the clear profile.
 */
export function fileDirectory(files: { cases?: string; customers?: string }): RadiusDirectory {
  let cases: Promise<Map<string, CaseRecord>> | undefined;
  return {
    knowsCases: files.cases !== undefined,
    async caseHistories(ids) {
      if (files.cases === undefined) return new Map();
      cases ??= readCases(files.cases);
      const all = await cases;
      const found = new Map<string, CaseHistoryRecord>();
      for (const id of ids) {
        const c = all.get(id);
        if (c) found.set(id, { customer: c.customer, acts: importedHistory(c) });
      }
      return found;
    },
    async places(ids) {
      return files.customers === undefined ? new Map() : readPlaces(files.customers, new Set(ids));
    },
  };
}

async function readCases(file: string): Promise<Map<string, CaseRecord>> {
  const all = new Map<string, CaseRecord>();
  for await (const r of readRecords(file, 'jsonl')) {
    if (r instanceof UnreadableLine) throw new InvalidInputError(`${file}:${r.line}: ${r.message}`, { file, line: r.line });
    const c = parseCase(r.value, { file, line: r.line });
    all.set(c.id, c);
  }
  return all;
}

/** Country, region and entity of the customers in `wanted`, from a customers.jsonl file. */
async function readPlaces(file: string, wanted: ReadonlySet<string>): Promise<Map<string, CustomerPlace>> {
  const found = new Map<string, CustomerPlace>();
  for await (const r of readRecords(file, 'jsonl')) {
    if (r instanceof UnreadableLine) throw new InvalidInputError(`${file}:${r.line}: ${r.message}`, { file, line: r.line });
    const o = r.value as { id?: unknown; country?: unknown; region?: unknown; entity?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.id !== 'string' || !wanted.has(o.id)) continue;
    if (typeof o.country !== 'string' || o.country === '') throw new InvalidInputError(`${file}:${r.line}: field "country": is required`, { file, line: r.line, field: 'country' });
    found.set(o.id, {
      country: o.country.toUpperCase(),
      region: typeof o.region === 'string' && o.region !== '' ? o.region.toUpperCase() : null,
      ...(typeof o.entity === 'string' && o.entity !== '' ? { entity: o.entity } : {}),
    });
  }
  return found;
}
