/**
 * An incident's customer notices, for the CLI (`custos notify`) and the API
 * (/v1/incidents/:id/notices): queue them from the incident's affected customers, start sending
 * them, see the outbox, preview one. Each act is decided by Cedar (`respond`, NOTICE_OPERATIONS:
 * privacy officers by default) and recorded in the ledger first, and lands on the incident's
 * timeline. There are no notices but an incident's in the store:
 *
 * - queue and preview while it is `assessing` or `notifying` (a preview never holds an address);
 * - sending moves it from `assessing` to `notifying` (recorded), and the broker opens addresses
 *   only while it is `notifying` (src/broker/notice-address.ts);
 * - the outbox's status, in any state.
 */
import type { Actor } from '../broker/acts.ts';
import type { RequestContext } from '../broker/decision-log.ts';
import { ConfigError, NotFoundError } from '../errors.ts';
import { checkId } from '../model.ts';
import type { EntitiesConfig } from '../respond/entities.ts';
import { affectedCustomers, type IncidentService } from '../respond/incidents.ts';
import { INCIDENT_STATES, type Incident, type IncidentState } from '../store/incidents.ts';
import type { OutboxCounts, OutboxEntry } from '../store/notice-outbox.ts';
import type { Store } from '../store/store.ts';
import { noticeIncidentOf, type NoticeFacts, type NoticeRecipient } from './notice.ts';
import { queuedNotice, queueNotices, type ProfileLookup, type QueueResult } from './queue.ts';
import type { NoticeRenderer, RenderedNotice } from './render.ts';
import type { SendSummary } from './send.ts';
import type { DeliveryReport } from './bounces.ts';

/** Where an incident must be for its notices to be queued or previewed, and sent. */
export const QUEUE_STATES: readonly IncidentState[] = ['assessing', 'notifying'];
export const SEND_STATES: readonly IncidentState[] = ['assessing', 'notifying'];

export interface IncidentNoticesDeps {
  store: Store;
  incidents: IncidentService;
  entities: EntitiesConfig;
  now: () => Date;
}

/** What recording delivery reports did. */
export interface BounceSummary {
  reports: number;
  /** Notices marked bounced. */
  bounced: number;
  /** Reports of a notice already bounced (or not sent): left as they were. */
  already: number;
  /** Failed reports whose Message-ID is no notice in the outbox. */
  unmatched: number;
  /** Reports of a delay or a delivery: nothing to record. */
  ignored: number;
  /** The incidents whose notices bounced. */
  incidents: string[];
}

/** The outbox of one incident: counts by state, and the notices that failed or bounced with their last error. */
export interface NoticeStatus {
  incident: string;
  state: IncidentState;
  counts: Omit<OutboxCounts, 'nextDueMs'>;
  nextDueAt: string | null;
  failures: Array<Pick<OutboxEntry, 'customer' | 'state' | 'attempts' | 'lastError'> & { retryAt: string | null }>;
  /** Pass back as `after` for the next page of failures. */
  next?: string;
}

export class IncidentNotices {
  constructor(private readonly deps: IncidentNoticesDeps) {}

  /** Render and queue a notice for every affected customer (QueueResult); recorded, and counted on the timeline. */
  async queue(actor: Actor, id: string, facts: NoticeFacts, renderer: NoticeRenderer, ctx: RequestContext): Promise<{ incident: string } & QueueResult> {
    const details = { recipient: facts.recipient, authorities: facts.authorities.length, ...(facts.actions ? { actions: facts.actions.join(',') } : {}) };
    const { incident, seq } = await this.deps.incidents.noticesAct(actor, id, 'queue_notices', QUEUE_STATES, details, ctx);
    const timeline = await this.deps.store.incidents.timeline(id);
    const customers = (await affectedCustomers(this.deps.store, incident)).map(({ customer, fields, first, last }) => ({ customer, fields, first, last }));
    const result = await queueNotices(noticeIncidentOf(incident, timeline, facts), customers, {
      outbox: this.deps.store.noticeOutbox,
      renderer,
      profileOf: profileLookup(this.deps.store),
      entityFor: (r: NoticeRecipient) => this.deps.entities.entityFor(r).entity,
      now: () => this.deps.now().getTime(),
    });
    await this.deps.incidents.recordNotices(actor, id, 'notices_queued', { queued: result.queued, already: result.already, ...prefixed('skipped', result.skipped) }, seq);
    return { incident: id, ...result };
  }

  /**
   * Start sending: decided and recorded (`send_notices`); an incident being assessed moves on to
   * notifying. Returns the incident and the decision's ledger index.
   */
  async startSending(actor: Actor, id: string, ctx: RequestContext): Promise<{ incident: Incident; seq: number }> {
    const { incident, seq } = await this.deps.incidents.noticesAct(actor, checkId(id, 'incident'), 'send_notices', SEND_STATES, {}, ctx);
    return { incident: await this.deps.incidents.startNotifying(actor, incident, seq), seq };
  }

  /** How a send run ended, on the timeline beside the decision that started it. */
  async recordSent(actor: Actor, id: string, seq: number, summary: Pick<SendSummary, 'sent' | 'failed' | 'bounced' | 'unreachable'>): Promise<void> {
    await this.deps.incidents.recordNotices(actor, id, 'notices_sent', { sent: summary.sent, failed: summary.failed, bounced: summary.bounced, unreachable: summary.unreachable }, seq);
  }

  /** The outbox's counts by state, and a page of its failed and bounced notices (by customer id). */
  async status(actor: Actor, id: string, page: { after?: string; limit: number }, ctx: RequestContext): Promise<NoticeStatus> {
    const { incident } = await this.deps.incidents.noticesAct(actor, id, 'notice_status', INCIDENT_STATES, {}, ctx);
    const outbox = this.deps.store.noticeOutbox;
    const { nextDueMs, ...counts } = await outbox.counts(id);
    const rows = await outbox.list(id, { ...(page.after !== undefined ? { after: page.after } : {}), limit: page.limit + 1, states: ['failed', 'bounced'] });
    const failures = rows.slice(0, page.limit).map((r) => ({ customer: r.customer, state: r.state, attempts: r.attempts, lastError: r.lastError, retryAt: r.dueMs === null ? null : new Date(r.dueMs).toISOString() }));
    return {
      incident: id,
      state: incident.state,
      counts,
      nextDueAt: nextDueMs === null ? null : new Date(nextDueMs).toISOString(),
      failures,
      ...(rows.length > page.limit ? { next: failures[failures.length - 1]!.customer } : {}),
    };
  }

  /**
   * Record the bounces that delivery reports tell of: each `failed` report whose Message-ID is a
   * notice in the outbox turns it from sent (or failed) to bounced, with the report's status and
   * diagnostic as its error, never tried again. Decided and recorded per incident (`record_bounces`,
   * in any state: reports come back after an incident is closed too) and on its timeline.
   */
  async recordBounces(actor: Actor, reports: readonly DeliveryReport[], ctx: RequestContext): Promise<BounceSummary> {
    const summary: BounceSummary = { reports: reports.length, bounced: 0, already: 0, unmatched: 0, ignored: 0, incidents: [] };
    const failed = reports.filter((r) => r.action === 'failed');
    summary.ignored = reports.length - failed.length;
    const rows = new Map((await this.deps.store.noticeOutbox.byMessageIds([...new Set(failed.map((r) => r.messageId))])).map((r) => [r.messageId, r]));
    const byIncident = new Map<string, Array<{ customer: string; report: DeliveryReport }>>();
    for (const report of failed) {
      const row = rows.get(report.messageId);
      if (!row) {
        summary.unmatched++;
        continue;
      }
      byIncident.set(row.incident, [...(byIncident.get(row.incident) ?? []), { customer: row.customer, report }]);
    }
    for (const [id, bounces] of byIncident) {
      const { seq } = await this.deps.incidents.noticesAct(actor, id, 'record_bounces', INCIDENT_STATES, { reports: bounces.length }, ctx);
      let bounced = 0;
      for (const { customer, report } of bounces) {
        const error = `dsn ${report.status}${report.diagnostic ? `: ${report.diagnostic}` : ''}`;
        if (await this.deps.store.noticeOutbox.markBounced(id, customer, error, this.deps.now().getTime())) bounced++;
      }
      summary.bounced += bounced;
      summary.already += bounces.length - bounced;
      summary.incidents.push(id);
      await this.deps.incidents.recordNotices(actor, id, 'notices_bounced', { reports: bounces.length, bounced, already: bounces.length - bounced }, seq);
    }
    return summary;
  }

  /**
   * One customer's queued notice as it will be sent (the address is never part of it): refused,
   * recorded, unless the incident is queuing or notifying and affected that customer.
   */
  async preview(actor: Actor, id: string, customer: string, ctx: RequestContext): Promise<RenderedNotice> {
    checkId(customer, 'customer');
    await this.deps.incidents.noticesAct(actor, id, 'render_notice', QUEUE_STATES, { customer }, ctx, async (incident) => {
      const affected = (await affectedCustomers(this.deps.store, incident)).some((c) => c.customer === customer);
      return affected ? undefined : new NotFoundError(`customer "${customer}" is not among incident "${id}"'s affected customers`);
    });
    const notice = await queuedNotice(this.deps.store.noticeOutbox, id, customer);
    if (!notice) throw new NotFoundError(`no notice queued for customer "${customer}" in incident "${id}" (queue the incident's notices first)`);
    return notice;
  }
}

function profileLookup(store: Store): ProfileLookup {
  return async (id) => {
    const c = await store.customers.get(id);
    // Never the country's entity in place of the customer's own, silently (src/broker/clear-entity.ts moves these).
    if (c?.fields.includes('entity')) throw new ConfigError(`customer "${id}" holds its entity sealed, as imported before entity was a clear attribute; custos serve and custos notify queue move such values to clear when they are entity ids: re-import the customer with a valid "entity"`);
    return c ? { id: c.id, country: c.country, region: c.region, locale: c.locale, entity: c.entity ?? null, fields: c.fields, canary: c.canary } : undefined;
  };
}

function prefixed(prefix: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [`${prefix}_${k}`, v]));
}
