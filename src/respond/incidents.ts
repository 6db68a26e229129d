/**
 * Incidents: a suspected insider (from an alert or by hand) or an accidental exposure, moved
 * open → contained → assessing → notifying → closed, with a timeline of every act. Each act by
 * a person is decided by Cedar (`respond`) and recorded in the ledger before it takes effect;
 * its timeline entry carries the ledger index of that decision.
 *
 * Containment happens at once when an incident names a subject: the employee is suspended in
 * the store, which every process reads on every request, so the broker denies everything for
 * them from the next request on, whatever tokens they hold; a configured webhook is then told,
 * with retries, each attempt and the outcome on the timeline.
 */
import { randomBytes } from 'node:crypto';
import type { Actor } from '../broker/acts.ts';
import type { RequestContext } from '../broker/decision-log.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import { checkId, checkTime, type RecordedEvent } from '../model.ts';
import type { IncidentOperation, NoticeOperation } from '../policy/index.ts';
import type { Exposure, Incident, IncidentFilter, IncidentState, NewTimelineEntry, TimelineEntry } from '../store/incidents.ts';
import type { Store } from '../store/store.ts';
import { blastRadius, eventExposures, exposureRadius, type BlastRadius, type CustomerExposure } from './blast-radius.ts';
import type { ActAuthorizer } from './investigation.ts';
import { storeDirectory, storeExposures, storeExposingEventsBetween } from './sources.ts';
import { deliverWebhook, type WebhookOutcome, type WebhookPolicy } from './webhook.ts';
import { affectedFromExposures, type IncidentController, type ObligationsIncident, type Recipient } from './incident-input.ts';

/** Where an incident may go from each state. */
export const NEXT_STATES: Readonly<Record<IncidentState, readonly IncidentState[]>> = {
  open: ['contained', 'assessing', 'closed'],
  contained: ['assessing', 'closed'],
  assessing: ['notifying', 'closed'],
  notifying: ['closed'],
  closed: [],
};

const NOTICE_VERBS: Record<NoticeOperation, string> = {
  queue_notices: 'queued',
  send_notices: 'sent',
  notice_status: 'seen',
  render_notice: 'previewed',
  record_bounces: 'marked bounced',
};

/** What opens an incident: a subject employee, or what an accident exposed. */
export interface OpenIncident {
  title: string;
  /** The suspected employee: an insider incident, contained at once. */
  employee?: string;
  from?: string;
  to?: string;
  /** The alert escalated into this incident. */
  alert?: string;
  /**
   * An accidental exposure (with no employee): which customers and fields, or a query over
   * events (a channel and/or an actor; `from` and `to` then required).
   */
  exposure?: Exposure;
}

/** Where an exposure's customer list came from, so that an unknown id is named by its line. */
export interface ExposureSource {
  file: string;
  /** The line of each customer id given, in the order given. */
  lines: readonly number[];
}

export interface IncidentView extends Incident {
  timeline: TimelineEntry[];
}

export interface IncidentServiceDeps {
  store: Store;
  acts: ActAuthorizer;
  now: () => Date;
  /** The containment webhook, when one is configured. */
  webhook?: WebhookPolicy;
  /** Waits between webhook attempts (tests pass a fast one). */
  sleep?: (ms: number) => Promise<void>;
}

export interface Opened {
  incident: Incident;
  /** Settles once the containment webhook is delivered or given up (at once when there is none). */
  notified: Promise<WebhookOutcome | undefined>;
}

const MAX_TITLE = 200;
const MAX_EXPOSED = 100_000;
const FIELD_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export class IncidentService {
  constructor(private readonly deps: IncidentServiceDeps) {}

  /** Open an incident; one naming a subject contains them before this returns. */
  async open(actor: Actor, input: OpenIncident, ctx: RequestContext, source?: ExposureSource): Promise<Opened> {
    const checked = checkOpen(input);
    const now = this.deps.now();
    const id = newIncidentId(now);
    // Only a responder may learn that an employee or a customer does not exist: anyone else gets the same 403 either way.
    const missing = checked.employee !== undefined && !(await this.deps.store.employees.get(checked.employee))
      ? new NotFoundError(`no employee "${checked.employee}" (field "employee")`)
      : checked.exposure && 'customers' in checked.exposure
        ? await this.unknownExposed(input.exposure as { customers: string[] }, checked.exposure, source)
        : undefined;
    const details = {
      kind: checked.employee !== undefined ? 'insider' : 'exposure',
      ...(checked.employee !== undefined ? { subject: checked.employee } : {}),
      ...(checked.from !== undefined ? { from: checked.from } : {}),
      ...(checked.to !== undefined ? { to: checked.to } : {}),
      ...(checked.alert !== undefined ? { alert: checked.alert } : {}),
      ...(checked.exposure && 'customers' in checked.exposure ? { customers: checked.exposure.customers.length, fields: checked.exposure.fields.join(',') } : {}),
      ...(checked.exposure && 'query' in checked.exposure ? { query: JSON.stringify(checked.exposure.query) } : {}),
    };
    const recorded = await this.authorize(actor, id, 'open', checked.employee, 'create', details, ctx, undefined, missing);
    const incident: Incident = {
      id,
      kind: checked.employee !== undefined ? 'insider' : 'exposure',
      title: checked.title,
      state: 'open',
      ...(checked.employee !== undefined ? { subject: checked.employee } : {}),
      ...(checked.from !== undefined ? { from: checked.from } : {}),
      ...(checked.to !== undefined ? { to: checked.to } : {}),
      ...(checked.alert !== undefined ? { alert: checked.alert } : {}),
      ...(checked.exposure ? { exposure: checked.exposure } : {}),
      openedAt: now.toISOString(),
      openedBy: actor.id,
      updatedAt: now.toISOString(),
    };
    if (!(await this.deps.store.incidents.create(incident, { at: incident.openedAt, actor: actor.id, kind: 'opened', detail: { title: incident.title, ...details }, seq: recorded.seq }))) {
      throw new ConflictError(`incident "${id}" exists already`);
    }
    if (incident.subject === undefined) return { incident, notified: Promise.resolve(undefined) };
    const { notified } = await this.contain(actor, incident, ctx);
    return { incident: (await this.deps.store.incidents.get(id))!, notified };
  }

  /**
   * An exposure given by hand must name customers in the store and fields they hold: an id
   * nobody has, or a field no exposed customer holds, would be told to no one, or told wrongly,
   * and counted in the obligations under an unknown country. Named (with the file's line).
   */
  private async unknownExposed(given: { customers: string[] }, exposure: { customers: string[]; fields: string[] }, source?: ExposureSource): Promise<NotFoundError | InvalidInputError | undefined> {
    const held = await this.deps.store.customers.fieldsOf(exposure.customers);
    const unknown = given.customers.flatMap((c, i) => (held.has(c) ? [] : [{ c, i }]));
    if (unknown.length > 0) {
      const named = unknown.slice(0, 10).map(({ c, i }) => (source ? `"${c}" (line ${source.lines[i]})` : `"${c}" (exposure.customers[${i}])`));
      const more = unknown.length > 10 ? ` and ${unknown.length - 10} more` : '';
      const first = unknown[0]!;
      const at = source ? `${source.file}:${source.lines[first.i]}: ` : '';
      return new NotFoundError(`${at}no customer ${named.join(', ')}${more}: an exposure names customers in the store`, {
        field: source ? 'customers' : `exposure.customers[${first.i}]`,
        ...(source ? { file: source.file, line: source.lines[first.i] } : {}),
        unknown: unknown.length,
      });
    }
    const holds = new Set([...held.values()].flat());
    const fields = exposure.fields.filter((f) => !holds.has(f));
    if (fields.length > 0) {
      return new InvalidInputError(`field "exposure.fields": no exposed customer holds ${fields.map((f) => `"${f}"`).join(', ')} (they hold ${[...holds].sort().join(', ')})`, { field: 'exposure.fields' });
    }
    return undefined;
  }

  /** The incident and its timeline; recorded as a view. */
  async show(actor: Actor, id: string, ctx: RequestContext): Promise<IncidentView> {
    const incident = await this.found(actor, id, 'view', 'read', {}, ctx);
    return { ...incident, timeline: await this.deps.store.incidents.timeline(id) };
  }

  /** Incidents, newest first; recorded as a view of the list. */
  async list(actor: Actor, filter: IncidentFilter, ctx: RequestContext): Promise<{ items: Incident[]; next?: string }> {
    await this.authorize(actor, 'all', 'view', undefined, 'read', { limit: filter.limit, ...(filter.state ? { state: filter.state } : {}), ...(filter.after ? { after: filter.after } : {}) }, ctx);
    const rows = await this.deps.store.incidents.list({ ...filter, limit: filter.limit + 1 });
    const items = rows.slice(0, filter.limit);
    return { items, ...(rows.length > filter.limit ? { next: items[items.length - 1]!.id } : {}) };
  }

  /**
   * Move an incident on (NEXT_STATES). Moving to `contained` contains its subject; the returned
   * promise settles when the webhook is done with.
   */
  async transition(actor: Actor, id: string, to: IncidentState, note: string | undefined, ctx: RequestContext): Promise<Opened> {
    const current = await this.deps.store.incidents.get(id);
    const details = { to, ...(current ? { from: current.state } : {}), ...(note ? { note: note.slice(0, 500) } : {}) };
    const incident = await this.found(actor, id, 'transition', 'update', details, ctx, current);
    if (!NEXT_STATES[incident.state].includes(to)) {
      throw new ConflictError(`incident "${id}" is ${incident.state}; it can move to ${NEXT_STATES[incident.state].join(', ') || 'nothing (closed)'}, not ${to}`);
    }
    if (to === 'contained') {
      if (incident.subject === undefined) throw new ConflictError(`incident "${id}" names no employee to contain`);
      const { notified } = await this.contain(actor, incident, ctx);
      return { incident: (await this.deps.store.incidents.get(id))!, notified };
    }
    const entry: NewTimelineEntry = { at: this.deps.now().toISOString(), actor: actor.id, kind: 'transition', detail: { from: incident.state, to, ...(note ? { note: note.slice(0, 500) } : {}) } };
    if (!(await this.deps.store.incidents.transition(id, incident.state, to, entry))) {
      throw new ConflictError(`incident "${id}" moved meanwhile; look again`);
    }
    return { incident: (await this.deps.store.incidents.get(id))!, notified: Promise.resolve(undefined) };
  }

  /**
   * Decide and record an act on an incident's notices (NOTICE_OPERATIONS). Refused, and recorded
   * as a denial, when `id` names no incident (not_found) or one whose state is not in `states`
   * (conflict), or when `check` refuses the incident found: notices exist only for an incident
   * in the store, at the point of its lifecycle where customers are told.
   */
  async noticesAct(
    actor: Actor,
    id: string,
    operation: NoticeOperation,
    states: readonly IncidentState[],
    details: Record<string, string | number | boolean>,
    ctx: RequestContext,
    check?: (incident: Incident) => Promise<NotFoundError | ConflictError | undefined>,
  ): Promise<{ incident: Incident; seq: number }> {
    checkId(id, 'id');
    const incident = await this.deps.store.incidents.get(id);
    const refusal = !incident
      ? new NotFoundError(`no incident "${id}"`)
      : !states.includes(incident.state)
        ? new ConflictError(`incident "${id}" is ${incident.state}; its notices may be ${NOTICE_VERBS[operation]} when it is ${states.join(' or ')}`)
        : await check?.(incident);
    const recorded = await this.authorize(actor, id, operation, incident?.subject, operation === 'notice_status' || operation === 'render_notice' ? 'read' : 'update', { ...details, ...(incident ? { state: incident.state } : {}) }, ctx, undefined, refusal);
    return { incident: incident!, seq: recorded.seq };
  }

  /**
   * Notices are going out: an incident being assessed moves on to notifying (the timeline entry
   * names the decision `seq` that allowed the sending); one notifying already stays.
   */
  async startNotifying(actor: Actor, incident: Incident, seq: number): Promise<Incident> {
    if (incident.state === 'notifying') return incident;
    const entry: NewTimelineEntry = { at: this.deps.now().toISOString(), actor: actor.id, kind: 'transition', detail: { from: incident.state, to: 'notifying', note: 'notices are being sent' }, seq };
    if (!(await this.deps.store.incidents.transition(incident.id, incident.state, 'notifying', entry))) {
      throw new ConflictError(`incident "${incident.id}" moved meanwhile; look again`);
    }
    return (await this.deps.store.incidents.get(incident.id))!;
  }

  /** What a notices act did (how many queued, sent, bounced), on the incident's timeline beside its decision. */
  async recordNotices(actor: Actor, id: string, kind: 'notices_queued' | 'notices_sent' | 'notices_bounced', detail: TimelineEntry['detail'], seq: number): Promise<void> {
    await this.deps.store.incidents.append(id, { at: this.deps.now().toISOString(), actor: actor.id, kind, detail, seq });
  }

  /** Record an act of the response on the timeline (an export, a note). */
  async note(actor: Actor, id: string, kind: 'note' | 'export', detail: NewTimelineEntry['detail'], ctx: RequestContext): Promise<Incident> {
    const incident = await this.found(actor, id, kind === 'note' ? 'note' : 'export', kind === 'note' ? 'update' : 'export', detail, ctx);
    await this.deps.store.incidents.append(id, { at: this.deps.now().toISOString(), actor: actor.id, kind, detail });
    return incident;
  }

  /**
   * Suspend the subject (every process reads the status on every request) and record why;
   * then the webhook, in the background of the returned promise.
   */
  private async contain(actor: Actor, incident: Incident, ctx: RequestContext): Promise<{ notified: Promise<WebhookOutcome | undefined> }> {
    const subject = incident.subject!;
    const employee = await this.deps.store.employees.get(subject);
    const before = employee?.status ?? 'unknown';
    const recorded = await this.authorize(actor, incident.id, 'contain', subject, 'suspend', { reason: 'contained', statusBefore: before, statusAfter: 'suspended' }, ctx, { type: 'employee', id: subject });
    await this.deps.store.employees.setStatus(subject, 'suspended', this.deps.now());
    const at = this.deps.now().toISOString();
    const entry: NewTimelineEntry = { at, actor: actor.id, kind: 'containment', detail: { employee: subject, reason: 'contained', statusBefore: before, from: incident.state, to: 'contained' }, seq: recorded.seq };
    if (!(await this.deps.store.incidents.transition(incident.id, incident.state, 'contained', entry))) {
      // The suspension stands either way: containment must not wait on the incident's bookkeeping.
      await this.deps.store.incidents.append(incident.id, { ...entry, detail: { ...entry.detail, note: 'incident had moved meanwhile; state left as it was' } });
    }
    const webhook = this.deps.webhook;
    if (!webhook) return { notified: Promise.resolve(undefined) };
    const body = { event: 'employee.contained', incident: incident.id, employee: subject, reason: 'contained', at };
    const system = actor.kind === 'host' ? actor.id : 'custos';
    const notified = deliverWebhook(
      webhook,
      body,
      async (a) => {
        await this.deps.store.incidents.append(incident.id, {
          at: this.deps.now().toISOString(), actor: system, kind: 'webhook_attempt',
          detail: { attempt: a.attempt, ok: a.ok, ...(a.status !== undefined ? { status: a.status } : {}), ...(a.error ? { error: a.error } : {}), ...(a.retryInMs !== undefined ? { retryInMs: a.retryInMs } : {}) },
        });
      },
      this.deps.sleep,
    ).then(async (outcome) => {
      await this.deps.store.incidents.append(incident.id, { at: this.deps.now().toISOString(), actor: system, kind: 'webhook_outcome', detail: { delivered: outcome.delivered, attempts: outcome.attempts } });
      return outcome;
    });
    return { notified };
  }

  /**
   * Decide and record an act on incident `id` (on the id alone when it names none: a responder
   * may learn it is missing, anyone else gets the same 403 either way), then the incident.
   */
  private async found(actor: Actor, id: string, operation: IncidentOperation, recordedAs: 'read' | 'update' | 'export', details: Record<string, string | number | boolean>, ctx: RequestContext, known?: Incident): Promise<Incident> {
    checkId(id, 'id');
    const incident = known ?? (await this.deps.store.incidents.get(id));
    await this.authorize(actor, id, operation, incident?.subject, recordedAs, details, ctx);
    if (!incident) throw new NotFoundError(`no incident "${id}"`);
    return incident;
  }

  private authorize(
    actor: Actor,
    id: string,
    operation: IncidentOperation,
    subject: string | undefined,
    recordedAs: 'read' | 'update' | 'export' | 'create' | 'suspend',
    details: Record<string, string | number | boolean>,
    ctx: RequestContext,
    /** What the act is on when it is not the incident itself (containment: the employee). */
    target?: { type: 'employee'; id: string },
    /** Thrown, recorded as a denial, if Cedar allows the act (a responder may learn it). */
    refusal?: NotFoundError | ConflictError | InvalidInputError,
  ): Promise<RecordedEvent> {
    return this.deps.acts.authorize(actor, {
      request: { action: 'respond', operation, resource: { type: 'Incident', id }, ...(subject !== undefined ? { subject } : {}) },
      action: recordedAs === 'read' ? 'view' : recordedAs === 'export' ? 'export' : 'update',
      target: target ?? { type: 'incident', id },
      operation: recordedAs,
      details: target ? { ...details, incident: id } : details,
    }, ctx, refusal);
  }
}

/** What escalation needs of the alert desk (src/broker/alert-desk.ts): move an alert, decided and recorded. */
export interface AlertEscalator {
  move(actorId: string, id: string, move: 'escalate', reason: string | undefined, ctx: RequestContext): Promise<unknown>;
}

/**
 * Open an incident from an alert (escalation): its employee is the subject, its first event
 * starts the window. With `desk`, the alert is escalated first (decided and recorded by the
 * desk); an alert escalated already is opened all the same.
 */
export async function openIncidentFromAlert(service: IncidentService, store: Store, actor: Actor, alertId: string, ctx: RequestContext, title?: string, desk?: AlertEscalator): Promise<Opened> {
  if (desk && actor.kind === 'employee') {
    try {
      await desk.move(actor.id, alertId, 'escalate', undefined, ctx);
    } catch (err) {
      if (!(err instanceof ConflictError) || (await store.alerts.get(alertId))?.state !== 'escalated') throw err;
    }
  }
  const alert = await store.alerts.get(alertId);
  if (!alert) throw new NotFoundError(`no alert "${alertId}"`);
  return service.open(actor, {
    title: title ?? `Alert ${alert.id}: ${alert.severity} risk ${Math.round(alert.score)} (${alert.detectors.map((d) => d.name).join(', ')})`,
    employee: alert.employee,
    from: alert.firstEventAt,
    alert: alert.id,
  }, ctx);
}

/**
 * The customers an incident affected, each with the fields exposed and when: the subject's
 * exact blast radius for an insider incident; for an accidental exposure, the customers and
 * fields given, over the incident's window. What notices and obligations are built from.
 */
export async function affectedCustomers(store: Store, incident: Incident): Promise<CustomerExposure[]> {
  return (await incidentBlastRadius(store, incident)).customers;
}

/** The blast radius behind an incident (see affectedCustomers). */
export async function incidentBlastRadius(store: Store, incident: Incident): Promise<BlastRadius> {
  if (incident.subject !== undefined) {
    const window = { employee: incident.subject, ...(incident.from !== undefined ? { from: incident.from } : {}), ...(incident.to !== undefined ? { to: incident.to } : {}) };
    return blastRadius(window, storeExposures(store, window), storeDirectory(store));
  }
  const exposure = incident.exposure ?? { customers: [], fields: [] };
  if ('query' in exposure) {
    // Checked at open: a query exposure always has its window.
    const query = { ...exposure.query, from: incident.from!, to: incident.to! };
    return { ...(await exposureRadius(query, storeExposingEventsBetween(store, query.from, query.to), storeDirectory(store))), employee: '' };
  }
  const first = incident.from ?? incident.openedAt;
  const last = incident.to ?? incident.openedAt;
  // The exposure as one synthetic event per customer, through the same computation (an accident has no purpose).
  // Each customer with exactly the exposed fields they hold: a notice never tells someone a field of theirs leaked that was never on record.
  const held = await store.customers.fieldsOf(exposure.customers);
  const events = exposure.customers.flatMap((customer) => {
    const fields = exposure.fields.filter((f) => held.get(customer)?.includes(f) ?? true);
    return fields.length === 0 ? [] : [{ id: `${incident.id}:${customer}`, time: first, actor: `incident:${incident.id}`, action: 'export' as const, customers: [customer], fields, decision: 'allow' as const }];
  });
  const radius = await blastRadius({ employee: `incident:${incident.id}` }, eventExposures((async function* () { yield events; })(), () => true), storeDirectory(store));
  return { ...radius, customers: radius.customers.map((c) => ({ ...c, last: new Date(Date.parse(last)).toISOString() })), employee: '', ...(incident.from ? { from: incident.from } : {}), ...(incident.to ? { to: incident.to } : {}) };
}

function checkOpen(input: OpenIncident): OpenIncident {
  const title = typeof input.title === 'string' ? input.title.trim() : '';
  if (title === '' || title.length > MAX_TITLE) throw new InvalidInputError(`field "title": is required, at most ${MAX_TITLE} characters`, { field: 'title' });
  const from = input.from !== undefined ? checkTime(input.from, 'from') : undefined;
  const to = input.to !== undefined ? checkTime(input.to, 'to') : undefined;
  if (from !== undefined && to !== undefined && to <= from) throw new InvalidInputError('field "to": must be after from', { field: 'to' });
  if (input.employee !== undefined && input.exposure !== undefined) throw new InvalidInputError('give an employee (insider) or an exposure (accident), not both', { field: 'exposure' });
  if (input.employee === undefined && input.exposure === undefined) throw new InvalidInputError('give the employee suspected, or the customers and fields an accident exposed', { field: 'employee' });
  let exposure: OpenIncident['exposure'];
  if (input.exposure !== undefined && 'query' in input.exposure) {
    const q = input.exposure.query ?? {};
    if (q.channel === undefined && q.actor === undefined) throw new InvalidInputError('field "exposure.query": give a channel and/or an actor', { field: 'exposure.query' });
    if (from === undefined || to === undefined) throw new InvalidInputError('an exposure given as a query over events needs from and to', { field: from === undefined ? 'from' : 'to' });
    if (q.channel !== undefined && (typeof q.channel !== 'string' || q.channel === '' || q.channel.length > 128)) throw new InvalidInputError('field "exposure.query.channel": 1 to 128 characters', { field: 'exposure.query.channel' });
    exposure = { query: { ...(q.channel !== undefined ? { channel: q.channel } : {}), ...(q.actor !== undefined ? { actor: checkId(q.actor, 'exposure.query.actor') } : {}) } };
  } else if (input.exposure !== undefined) {
    const customers = [...new Set(input.exposure.customers ?? [])];
    if (customers.length === 0 || customers.length > MAX_EXPOSED) throw new InvalidInputError(`field "exposure.customers": 1 to ${MAX_EXPOSED} customer ids`, { field: 'exposure.customers' });
    customers.forEach((c, i) => checkId(c, `exposure.customers[${i}]`));
    const fields = [...new Set(input.exposure.fields ?? [])];
    if (fields.length === 0 || !fields.every((f) => typeof f === 'string' && FIELD_RE.test(f))) throw new InvalidInputError('field "exposure.fields": at least one field name', { field: 'exposure.fields' });
    exposure = { customers, fields };
  }
  return {
    title,
    ...(input.employee !== undefined ? { employee: checkId(input.employee, 'employee') } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(input.alert !== undefined ? { alert: checkId(input.alert, 'alert') } : {}),
    ...(exposure ? { exposure } : {}),
  };
}

/** inc-YYYYMMDD-<8 hex>: sortable by day, unguessable within it. */
function newIncidentId(now: Date): string {
  return `inc-${now.toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(4).toString('hex')}`;
}

/** What obligations need beyond the incident itself: who received the data, who controls it. */
export interface ObligationFacts {
  recipient: Recipient;
  controller: IncidentController;
  encrypted: boolean;
  description?: string;
}

/**
 * The incident as obligations read it (src/respond/obligations.ts): awareness is when it was
 * opened, the affected people its blast radius (each with exactly the fields exposed).
 */
export async function obligationsInput(store: Store, incident: Incident, facts: ObligationFacts): Promise<ObligationsIncident> {
  const radius = await incidentBlastRadius(store, incident);
  return {
    id: incident.id,
    kind: incident.kind === 'insider' ? 'insider' : 'accidental',
    awareAt: incident.openedAt,
    recipient: facts.recipient,
    controller: facts.controller,
    affected: affectedFromExposures(radius.customers),
    encrypted: facts.encrypted,
    ...(incident.from !== undefined && incident.to !== undefined ? { window: { from: incident.from, to: incident.to } } : {}),
    description: facts.description ?? incident.title,
  };
}
