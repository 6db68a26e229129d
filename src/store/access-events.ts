import type { Kysely, SelectQueryBuilder } from 'kysely';
import { IntegrityError, InvalidInputError } from '../errors.ts';
import { decodeAccessEvent, type AccessAction, type Decision, type RecordedEvent } from '../model.ts';
import type { AccessEventQueries, EventIndex, EventQuery } from './event-index.ts';
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

  /**
   * Events touching any of `customers` (at most a few hundred ids per call), once each even when
   * they touch several of them, in seq order.
   */
  async byCustomers(customers: readonly string[], q: EventQuery): Promise<RecordedEvent[]> {
    await this.projection.catchUp();
    if (customers.length === 0) return [];
    const query = this.db
      .selectFrom('access_event_customers as c')
      .innerJoin('access_events as e', 'e.seq', 'c.seq')
      .innerJoin('ledger_entries as l', 'l.idx', 'c.seq')
      .select(['c.seq', 'l.entry'])
      .where('c.customer', 'in', [...customers]);
    const rows = await page(query, q, 'c.seq');
    // One row per (event, customer): an event touching several of them comes once per customer, adjacent.
    return rows.filter((r, i) => i === 0 || rows[i - 1]!.seq !== r.seq);
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
