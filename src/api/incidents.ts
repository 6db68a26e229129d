/**
 * /v1/incidents: open (from an alert, about a suspected employee — contained at once — or for an
 * accidental exposure), list, show with the timeline, move through the lifecycle, the blast
 * radius behind one, and its customer notices (queue them, the outbox's status, preview one;
 * sending is `custos notify send`). Every request is decided (Cedar `respond`) and recorded by
 * the services.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Custos } from '../app.ts';
import { ActLog } from '../broker/acts.ts';
import { AlertDesk } from '../broker/alert-desk.ts';
import type { Logger } from '../log.ts';
import { IncidentNotices } from '../notify/incident-notices.ts';
import { NoticeCatalogs } from '../notify/catalog.ts';
import { NOTICE_ACTIONS, RECIPIENT_KINDS, type NoticeFacts } from '../notify/notice.ts';
import { composeNotice, NoticeRenderer } from '../notify/render.ts';
import { loadEntities } from '../respond/entities.ts';
import { IncidentService, incidentBlastRadius, openIncidentFromAlert, type Opened } from '../respond/incidents.ts';
import { NOTICE_STATES } from '../store/notice-outbox.ts';
import { INCIDENT_STATES, type Exposure, type IncidentState } from '../store/incidents.ts';
import { errorResponses, idParamSchema } from './errors.ts';

const errors = errorResponses(400, 401, 403, 404, 409, 503);

const openBody = {
  type: 'object',
  required: ['title'],
  additionalProperties: false,
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 200 },
    employee: { type: 'string', description: 'the suspected employee: suspended at once' },
    alert: { type: 'string', description: 'escalate this alert (its employee is the subject)' },
    from: { type: 'string', description: 'RFC 3339, inclusive' },
    to: { type: 'string', description: 'RFC 3339, exclusive' },
    exposure: {
      description: 'an accidental exposure: which customers and fields, or a query over events in [from, to) (a channel and/or an actor)',
      oneOf: [
        {
          type: 'object',
          required: ['customers', 'fields'],
          additionalProperties: false,
          properties: { customers: { type: 'array', items: { type: 'string' }, maxItems: 100000 }, fields: { type: 'array', items: { type: 'string' }, maxItems: 64 } },
        },
        {
          type: 'object',
          required: ['query'],
          additionalProperties: false,
          properties: { query: { type: 'object', additionalProperties: false, properties: { channel: { type: 'string', maxLength: 128 }, actor: { type: 'string' } } } },
        },
      ],
    },
  },
} as const;

const noticesBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    recipient: { type: 'string', enum: [...RECIPIENT_KINDS], default: 'unknown', description: 'who received the data' },
    actions: { type: 'array', items: { type: 'string', enum: [...NOTICE_ACTIONS] }, maxItems: NOTICE_ACTIONS.length, uniqueItems: true, description: 'what was done; default: access-revoked if the subject was contained' },
    authorities: {
      type: 'array',
      maxItems: 50,
      description: 'the authorities informed; each customer is told of those of their country or region, those without one, and their entity\'s lead authority',
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, jurisdiction: { type: 'string', pattern: '^[A-Z]{2}(-[A-Z0-9]{1,3})?$' } },
      },
    },
    reference: { type: 'string', minLength: 1, maxLength: 100, description: 'the reference customers quote; default: the incident id' },
  },
} as const;

const countSchema = { type: 'object', properties: { total: { type: 'integer' }, pending: { type: 'integer', description: 'will be tried again' } } } as const;

const queuedSchema = {
  type: 'object',
  properties: {
    incident: { type: 'string' },
    queued: { type: 'integer', description: 'notices added to the outbox' },
    already: { type: 'integer', description: 'customers queued before, left as they were' },
    skipped: { type: 'object', properties: { unknown_customer: { type: 'integer' }, canary: { type: 'integer' }, no_email: { type: 'integer' } } },
  },
} as const;

const statusSchema = {
  type: 'object',
  properties: {
    incident: { type: 'string' },
    state: { type: 'string', enum: [...INCIDENT_STATES] },
    counts: { type: 'object', properties: Object.fromEntries(NOTICE_STATES.map((st) => [st, countSchema])) },
    nextDueAt: { type: ['string', 'null'], description: 'when the next notice may be tried' },
    failures: {
      type: 'array',
      items: {
        type: 'object',
        properties: { customer: { type: 'string' }, state: { type: 'string', enum: ['failed', 'bounced'] }, attempts: { type: 'integer' }, lastError: { type: ['string', 'null'] }, retryAt: { type: ['string', 'null'] } },
      },
    },
    next: { type: 'string', description: 'pass as `after` for the next page of failures' },
  },
} as const;

const previewSchema = {
  type: 'object',
  properties: {
    incident: { type: 'string' },
    customer: { type: 'string' },
    messageId: { type: 'string' },
    locale: { type: 'string' },
    subject: { type: 'string' },
    message: { type: 'string', description: 'the full RFC 5322 message as it will be sent, To: undisclosed-recipients (the address stays in the vault)' },
  },
} as const;

export function incidentRoutes(custos: Custos, logger: Logger) {
  return async (app: FastifyInstance): Promise<void> => {
    const c = custos.config.containment;
    const service = new IncidentService({
      store: custos.store,
      acts: new ActLog(custos),
      now: custos.now,
      ...(c.webhookUrl ? { webhook: { url: c.webhookUrl, attempts: c.webhookAttempts, backoffMs: c.webhookBackoffMs } } : {}),
    });
    const desk = new AlertDesk(custos);
    const notices = new IncidentNotices({ store: custos.store, incidents: service, entities: loadEntities(custos.config.entitiesFile), now: custos.now });
    const renderer = new NoticeRenderer(new NoticeCatalogs(), { domain: custos.config.noticeDomain });
    const asEmployee = (req: FastifyRequest) => ({ kind: 'employee', id: req.actor }) as const;
    const ctxOf = (req: FastifyRequest) => ({ channel: 'api', ip: req.ip }) as const;
    // The webhook goes on after the answer; its attempts land on the timeline.
    const inBackground = (opened: Opened) => {
      void opened.notified.catch((err: unknown) => logger.error({ err, incident: opened.incident.id }, 'containment webhook bookkeeping failed'));
      return opened.incident;
    };

    app.post<{ Body: { title: string; employee?: string; alert?: string; from?: string; to?: string; exposure?: Exposure } }>('/v1/incidents', {
      schema: { summary: 'Open an incident; one naming an employee, or escalating an alert (the alert is escalated too), suspends them at once', tags: ['incidents'], body: openBody, response: { ...errors } },
    }, async (req, reply) => {
      const b = req.body;
      const opened = b.alert !== undefined
        ? await openIncidentFromAlert(service, custos.store, asEmployee(req), b.alert, ctxOf(req), b.title, desk)
        : await service.open(asEmployee(req), b, ctxOf(req));
      return reply.status(201).send(inBackground(opened));
    });

    app.get<{ Querystring: { state?: IncidentState; after?: string; limit: number } }>('/v1/incidents', {
      schema: {
        summary: 'Incidents, newest first',
        tags: ['incidents'],
        querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'string', enum: [...INCIDENT_STATES] }, after: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } } },
        response: { ...errors },
      },
    }, async (req) => service.list(asEmployee(req), { limit: req.query.limit, ...(req.query.state ? { state: req.query.state } : {}), ...(req.query.after ? { after: req.query.after } : {}) }, ctxOf(req)));

    app.get<{ Params: { id: string } }>('/v1/incidents/:id', {
      schema: { summary: 'An incident with its timeline', tags: ['incidents'], params: idParamSchema, response: { ...errors } },
    }, async (req) => service.show(asEmployee(req), req.params.id, ctxOf(req)));

    app.post<{ Params: { id: string }; Body: { to: IncidentState; note?: string } }>('/v1/incidents/:id/transition', {
      schema: {
        summary: 'Move an incident on: open → contained → assessing → notifying → closed',
        tags: ['incidents'],
        params: idParamSchema,
        body: { type: 'object', required: ['to'], additionalProperties: false, properties: { to: { type: 'string', enum: [...INCIDENT_STATES] }, note: { type: 'string', maxLength: 500 } } },
        response: { ...errors },
      },
    }, async (req) => inBackground(await service.transition(asEmployee(req), req.params.id, req.body.to, req.body.note, ctxOf(req))));

    app.get<{ Params: { id: string } }>('/v1/incidents/:id/blast-radius', {
      schema: { summary: 'The customers the incident affected: fields, first and last time, events, accesses without a valid purpose', tags: ['incidents'], params: idParamSchema, response: { ...errors } },
    }, async (req) => {
      // Recorded as a view of the incident; the radius is read from the index after.
      const incident = await service.show(asEmployee(req), req.params.id, ctxOf(req));
      return incidentBlastRadius(custos.store, incident);
    });

    app.post<{ Params: { id: string }; Body: { recipient?: NoticeFacts['recipient']; actions?: NoticeFacts['actions']; authorities?: NoticeFacts['authorities']; reference?: string } }>('/v1/incidents/:id/notices', {
      schema: {
        summary: 'Queue a notice for each of the incident\'s affected customers (assessing or notifying; privacy officers). A customer queued already is left as is',
        tags: ['incidents'],
        params: idParamSchema,
        body: noticesBody,
        response: { 200: queuedSchema, ...errors },
      },
    }, async (req) => {
      const b = req.body ?? {};
      const facts: NoticeFacts = {
        recipient: b.recipient ?? 'unknown',
        ...(b.actions ? { actions: b.actions } : {}),
        authorities: b.authorities ?? [],
        ...(b.reference ? { reference: b.reference } : {}),
      };
      return notices.queue(asEmployee(req), req.params.id, facts, renderer, ctxOf(req));
    });

    app.get<{ Params: { id: string }; Querystring: { after?: string; limit: number } }>('/v1/incidents/:id/notices', {
      schema: {
        summary: 'The incident\'s notices: counts by state, and those that failed or bounced with their last error, a page at a time (privacy officers)',
        tags: ['incidents'],
        params: idParamSchema,
        querystring: { type: 'object', additionalProperties: false, properties: { after: { type: 'string', maxLength: 128 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
        response: { 200: statusSchema, ...errors },
      },
    }, async (req) => notices.status(asEmployee(req), req.params.id, { limit: req.query.limit, ...(req.query.after ? { after: req.query.after } : {}) }, ctxOf(req)));

    app.get<{ Params: { id: string; customer: string } }>('/v1/incidents/:id/notices/:customer', {
      schema: {
        summary: 'One customer\'s queued notice as it will be sent, without their address (assessing or notifying; privacy officers)',
        tags: ['incidents'],
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 128 }, customer: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['id', 'customer'] },
        response: { 200: previewSchema, ...errors },
      },
    }, async (req) => {
      const notice = await notices.preview(asEmployee(req), req.params.id, req.params.customer, ctxOf(req));
      const message = (await composeNotice(notice, undefined, custos.now())).toString('utf8');
      return { incident: notice.incident, customer: notice.customer, messageId: notice.messageId, locale: notice.locale, subject: notice.subject, message };
    });
  };
}
