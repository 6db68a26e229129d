/**
 * /v1/incidents: open (from an alert, about a suspected employee — contained at once — or for an
 * accidental exposure), list, show with the timeline, move through the lifecycle, and the blast
 * radius behind one. Every request is decided (Cedar `respond`) and recorded by the service.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Custos } from '../app.ts';
import { ActLog } from '../broker/acts.ts';
import { AlertDesk } from '../broker/alert-desk.ts';
import type { Logger } from '../log.ts';
import { IncidentService, incidentBlastRadius, openIncidentFromAlert, type Opened } from '../respond/incidents.ts';
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
  };
}
