import type { Kysely, SelectQueryBuilder } from 'kysely';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { decodeAccessEvent, type AccessAction, type Decision, type RecordedEvent } from '../model.ts';
import type { AccessEventQueries, EventIndex, EventQuery, ExposureQuery } from './event-index.ts';
import { customersFromColumn, EXPOSING_ACTIONS, ExposurePageBuilder, fieldsFromColumns, type ExposurePage } from './exposures.ts';
import type { Database } from './schema.ts';

/**
 * Reads of the access-event index. The index is projected from the ledger (AccessEventProjection);
 * every read first catches it up, so it never misses an event the ledger has committed.
 */
export class AccessEventRepository implements AccessEventQueries {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly projection: EventIndex,
  ) {}

  async byActor(actor: string, q: EventQuery): Promise<RecordedEvent[]> {
    await this.projection.catchUp();
    const query = this.db
      .selectFrom('access_events as e')
      .innerJoin('ledger_entries as l', 'l.idx', 'e.seq')
      .select(['e.seq', 'l.entry'])
      .where('e.actor', '=', actor);
    return page(query, q, 'e.seq');
  }

  async byCustomer(customer: string, q: EventQuery): Promise<RecordedEvent[]> {
    await this.projection.catchUp();
    const query = this.db
      .selectFrom('access_event_customers as c')
      .innerJoin('access_events as e', 'e.seq', 'c.seq')
      .innerJoin('ledger_entries as l', 'l.idx', 'c.seq')
      .select(['c.seq', 'l.entry'])
      .where('c.customer', '=', customer);
    // Ordered by the link's own seq, which its primary key (customer, seq) already holds in order.
    return page(query, q, 'c.seq');
  }

  async byTime(q: EventQuery): Promise<RecordedEvent[]> {
    await this.projection.catchUp();
    return page(this.db.selectFrom('access_events as e').innerJoin('ledger_entries as l', 'l.idx', 'e.seq').select(['e.seq', 'l.entry']), q, 'e.seq');
  }

  /** How many events of this kind an actor has since `since` (reveal budgets). */
  async countSince(actor: string, action: AccessAction, decision: Decision, since: string): Promise<number> {
    await this.projection.catchUp();
    const row = await this.db
      .selectFrom('access_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('actor', '=', actor)
      .where('time_ms', '>=', timeBound(since, 'since'))
      .where('action', '=', action)
      .where('decision', '=', decision)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Allowed-event times per actor since `since`: seeds the broker's in-memory budgets at start. */
  async countsByActorSince(action: AccessAction, decision: Decision, since: string): Promise<Array<{ actor: string; timeMs: number }>> {
    await this.projection.catchUp();
    const rows = await this.db
      .selectFrom('access_events')
      .select(['actor', 'time_ms'])
      .where('time_ms', '>=', timeBound(since, 'since'))
      .where('action', '=', action)
      .where('decision', '=', decision)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ actor: r.actor, timeMs: Number(r.time_ms) }));
  }

  async exposuresByActor(actor: string, q: ExposureQuery): Promise<ExposurePage> {
    await this.projection.catchUp();
    let query = exposing(this.db.selectFrom('access_events as e'))
      .select(['e.seq', 'e.time_ms', 'e.customers', 'e.fields', 'e.fields_extra', 'e.purpose_kind', 'e.purpose_ref'])
      .where('e.actor', '=', actor)
      .where('e.customers', '<>', '[]');
    if (q.after) {
      // Keyset on (time, seq), the order of the (actor, time_ms) index.
      const { key, seq } = q.after;
      query = query.where('e.time_ms', '>=', Number(key)).where((eb) => eb.or([eb('e.time_ms', '>', Number(key)), eb('e.seq', '>', seq)]));
    }
    const [names, rows] = await Promise.all([this.fieldNames(), within(query, q).orderBy('e.time_ms').orderBy('e.seq').limit(q.limit).execute()]);
    const page = new ExposurePageBuilder();
    for (const r of rows) {
      const seq = Number(r.seq);
      const timeMs = Number(r.time_ms);
      const fields = Number(r.fields);
      for (const customer of customersFromColumn(r.customers)) {
        page.add(seq, timeMs, customer, actor, fieldsKey(fields, r.fields_extra), () => fieldsFromColumns(fields, r.fields_extra, names), r.purpose_kind ?? undefined, r.purpose_ref ?? '');
      }
    }
    const last = rows.at(-1);
    return page.build(last && rows.length === q.limit ? { key: Number(last.time_ms), seq: Number(last.seq) } : undefined);
  }

  async exposuresByCustomers(customers: readonly string[], q: ExposureQuery): Promise<ExposurePage> {
    await this.projection.catchUp();
    if (customers.length === 0) return new ExposurePageBuilder().build();
    // The links alone, in their key order: each holds the time, actor, purpose and exposed fields.
    let query = this.db
      .selectFrom('access_event_customers as c')
      .select(['c.customer', 'c.seq', 'c.time_ms', 'c.actor', 'c.exposed', 'c.exposed_extra', 'c.purpose_kind', 'c.purpose_ref'])
      .where('c.customer', 'in', [...customers])
      .where((eb) => eb.or([eb('c.exposed', '<>', 0), eb('c.exposed_extra', 'is not', null)]));
    if (q.after) {
      const { key, seq } = q.after;
      query = query.where('c.customer', '>=', String(key)).where((eb) => eb.or([eb('c.customer', '>', String(key)), eb('c.seq', '>', seq)]));
    }
    if (q.from) query = query.where('c.time_ms', '>=', timeBound(q.from, 'from'));
    if (q.to) query = query.where('c.time_ms', '<', timeBound(q.to, 'to'));
    const [names, rows] = await Promise.all([this.fieldNames(), query.orderBy('c.customer').orderBy('c.seq').limit(q.limit).execute()]);
    const page = new ExposurePageBuilder();
    for (const r of rows) {
      const exposed = Number(r.exposed);
      page.add(Number(r.seq), Number(r.time_ms), r.customer, r.actor, fieldsKey(exposed, r.exposed_extra), () => fieldsFromColumns(exposed, r.exposed_extra, names), r.purpose_kind ?? undefined, r.purpose_ref ?? '');
    }
    const last = rows.at(-1);
    return page.build(last && rows.length === q.limit ? { key: last.customer, seq: Number(last.seq) } : undefined);
  }

  /** The name of each field bit (a few dozen rows at most). */
  private async fieldNames(): Promise<string[]> {
    const names: string[] = [];
    for (const r of await this.db.selectFrom('access_event_fields').select(['bit', 'name']).execute()) names[Number(r.bit)] = r.name;
    return names;
  }
}

/** Only exposures: allowed reveals and exports that returned fields (customers are checked by each query). */
function exposing<QB extends SelectQueryBuilder<any, any, any>>(query: QB): QB {
  return query
    .where('e.action', 'in', [...EXPOSING_ACTIONS])
    .where('e.decision', '=', 'allow')
    .where((eb) => eb.or([eb('e.fields', '<>', 0), eb('e.fields_extra', 'is not', null)])) as QB;
}

function within<QB extends SelectQueryBuilder<any, any, any>>(query: QB, q: { from?: string; to?: string }): QB {
  if (q.from) query = query.where('e.time_ms', '>=', timeBound(q.from, 'from')) as QB;
  if (q.to) query = query.where('e.time_ms', '<', timeBound(q.to, 'to')) as QB;
  return query;
}

/** A set of fields by its columns: the bits alone when no name lies beyond them (nearly always). */
function fieldsKey(mask: number, extra: string | null): string | number {
  return extra === null ? mask : `${mask}|${extra}`;
}

/**
 * One page of events: `query` selects seq and entry with access_events joined as `e`; the time
 * bounds, keyset and limit of `q` apply, in `seq` order.
 */
async function page(query: SelectQueryBuilder<any, any, { seq: number; entry: Uint8Array }>, q: EventQuery, seq: 'e.seq' | 'c.seq'): Promise<RecordedEvent[]> {
  if (q.from) query = query.where('e.time_ms', '>=', timeBound(q.from, 'from'));
  if (q.to) query = query.where('e.time_ms', '<', timeBound(q.to, 'to'));
  if (q.afterSeq !== undefined) query = query.where(seq, '>', q.afterSeq);
  if (q.actions) query = query.where('e.action', 'in', q.actions.length > 0 ? [...q.actions] : ['']);
  if (q.decision) query = query.where('e.decision', '=', q.decision);
  return decoded(await query.orderBy(seq).limit(q.limit).execute());
}

function timeBound(value: string, field: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidInputError(`${field} is not an RFC 3339 time: "${value}"`, { field });
  return ms;
}

/** Events back from their ledger entries; every indexed entry decodes (the projection indexed only events). */
function decoded(rows: Array<{ seq: number; entry: Uint8Array }>): RecordedEvent[] {
  return rows.map((r) => {
    const event = decodeAccessEvent(r.entry);
    if (!event) throw new IntegrityError(`ledger entry ${Number(r.seq)} is indexed as an access event but is not one (run custos ledger verify)`);
    return { ...event, seq: Number(r.seq) };
  });
}
