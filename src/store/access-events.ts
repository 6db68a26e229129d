import type { Kysely } from 'kysely';
import type { AccessAction, Decision, RecordedEvent } from '../model.ts';
import type { AccessEventsTable, Database } from './schema.ts';

export interface EventQuery {
  /** Inclusive lower bound, RFC 3339. */
  from?: string;
  /** Exclusive upper bound, RFC 3339. */
  to?: string;
  /** Return only events with seq greater than this (keyset paging). */
  afterSeq?: number;
  limit: number;
}

/** Reads of the access-event index; writes happen only with the ledger (SqlLedgerStorage). */
export class AccessEventRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async byActor(actor: string, q: EventQuery): Promise<RecordedEvent[]> {
    let query = this.db.selectFrom('access_events').selectAll().where('actor', '=', actor);
    if (q.from) query = query.where('time', '>=', q.from);
    if (q.to) query = query.where('time', '<', q.to);
    if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq);
    const rows = await query.orderBy('seq').limit(q.limit).execute();
    return this.withCustomers(rows);
  }

  async byCustomer(customer: string, q: EventQuery): Promise<RecordedEvent[]> {
    let query = this.db
      .selectFrom('access_event_customers as l')
      .innerJoin('access_events as e', 'e.seq', 'l.seq')
      .selectAll('e')
      .where('l.customer', '=', customer);
    if (q.from) query = query.where('l.time', '>=', q.from);
    if (q.to) query = query.where('l.time', '<', q.to);
    if (q.afterSeq !== undefined) query = query.where('l.seq', '>', q.afterSeq);
    const rows = await query.orderBy('l.seq').limit(q.limit).execute();
    return this.withCustomers(rows);
  }

  async byTime(q: EventQuery): Promise<RecordedEvent[]> {
    let query = this.db.selectFrom('access_events').selectAll();
    if (q.from) query = query.where('time', '>=', q.from);
    if (q.to) query = query.where('time', '<', q.to);
    if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq);
    const rows = await query.orderBy('seq').limit(q.limit).execute();
    return this.withCustomers(rows);
  }

  /** How many events of this kind an actor has since `since` (reveal budgets). */
  async countSince(actor: string, action: AccessAction, decision: Decision, since: string): Promise<number> {
    const row = await this.db
      .selectFrom('access_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('actor', '=', actor)
      .where('time', '>=', since)
      .where('action', '=', action)
      .where('decision', '=', decision)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Allowed-event counts per actor since `since`: seeds the broker's in-memory budgets at start. */
  async countsByActorSince(action: AccessAction, decision: Decision, since: string): Promise<Array<{ actor: string; time: string }>> {
    return this.db
      .selectFrom('access_events')
      .select(['actor', 'time'])
      .where('time', '>=', since)
      .where('action', '=', action)
      .where('decision', '=', decision)
      .orderBy('seq')
      .execute();
  }

  private async withCustomers(rows: AccessEventsTable[]): Promise<RecordedEvent[]> {
    if (rows.length === 0) return [];
    const seqs = rows.map((r) => Number(r.seq));
    const links = await this.db
      .selectFrom('access_event_customers')
      .select(['seq', 'customer'])
      .where('seq', 'in', seqs)
      .execute();
    const customers = new Map<number, string[]>();
    for (const l of links) {
      const list = customers.get(Number(l.seq)) ?? [];
      list.push(l.customer);
      customers.set(Number(l.seq), list);
    }
    return rows.map((r) => ({
      seq: Number(r.seq),
      id: r.id,
      time: r.time,
      actor: r.actor,
      action: r.action as AccessAction,
      customers: (customers.get(Number(r.seq)) ?? []).sort(),
      fields: JSON.parse(r.fields) as string[],
      ...(r.purpose_kind ? { purpose: { kind: r.purpose_kind, ref: r.purpose_ref ?? '' } } : {}),
      decision: r.decision as Decision,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.channel ? { channel: r.channel } : {}),
      ...(r.ip ? { ip: r.ip } : {}),
    }));
  }
}
