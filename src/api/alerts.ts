/**
 * Detection's alerts for analysts: list, read, acknowledge, dismiss, escalate, unmask the
 * subject, and an employee's risk history. Pseudonymised by default (an alert's `employee` is
 * the subject's alias); every request is decided by Cedar (`triage`) and recorded first
 * (broker/alert-desk.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ActLogDeps } from '../broker/acts.ts';
import { AlertDesk, type AlertMove } from '../broker/alert-desk.ts';
import type { RequestContext } from '../broker/decision-log.ts';
import { ALERT_STATES, SEVERITIES, type AlertState, type Severity } from '../detect/alert.ts';
import { checkTime } from '../model.ts';
import { errorResponses, idParamSchema } from './errors.ts';
import { MAX_PAGE } from './records.ts';

const errors = errorResponses(400, 401, 403, 404, 409, 503);
const num = { type: 'number' } as const;
/** Evidence numbers; null stands for a bound that is infinite (JSON has no Infinity). */
const evidenceNumber = { type: ['number', 'null'] } as const;

const evidenceSchema = {
  type: 'object',
  properties: {
    summary: { type: 'string' },
    counts: { type: 'object', additionalProperties: evidenceNumber },
    baseline: { type: 'object', additionalProperties: evidenceNumber, description: 'null: no bound (infinite)' },
    samples: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          seq: { type: 'integer' },
          time: { type: 'string' },
          source: { type: 'string', description: 'for an event another system sent through ingest, that system: its facts are its word, not a decision Custos recorded' },
        },
        required: ['id', 'time'],
      },
    },
  },
  required: ['summary', 'counts', 'baseline', 'samples'],
} as const;

const stateChangeSchema = {
  type: 'object',
  properties: {
    at: { type: 'string' },
    from: { type: 'string', enum: [...ALERT_STATES] },
    to: { type: 'string', enum: [...ALERT_STATES] },
    actor: { type: 'string' },
    reason: { type: 'string' },
    seq: { type: 'integer', description: 'ledger index of the recorded decision' },
  },
  required: ['at', 'from', 'to', 'actor', 'seq'],
} as const;

const alertSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    employee: { type: 'string', description: "the subject's stable alias (GET /v1/alerts/:id/subject says who it is, recorded)" },
    score: { type: 'number', description: 'risk, 0–100, when raised or last updated' },
    severity: { type: 'string', enum: [...SEVERITIES] },
    state: { type: 'string', enum: [...ALERT_STATES] },
    detectedAt: { type: 'string', description: 'event time at which the alert first fired' },
    firstEventAt: { type: 'string' },
    updatedAt: { type: 'string' },
    detectors: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, score: num, evidence: evidenceSchema }, required: ['name', 'score', 'evidence'] },
    },
    explanation: { type: 'string' },
    seq: { type: 'integer', description: 'ledger index of the event at which it was last raised or updated' },
    history: { type: 'array', items: stateChangeSchema, description: 'state changes, oldest first (single alert only)' },
  },
  required: ['id', 'employee', 'score', 'severity', 'state', 'detectedAt', 'firstEventAt', 'updatedAt', 'detectors', 'explanation'],
} as const;

const riskSchema = {
  type: 'object',
  properties: {
    employee: { type: 'string', description: 'as asked: an alias or an employee id' },
    points: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          at: { type: 'string' },
          score: num,
          alert: { type: 'string' },
          detectors: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, score: num }, required: ['name', 'score'] } },
          seq: { type: 'integer' },
        },
        required: ['at', 'score', 'alert', 'detectors'],
      },
    },
    next: { type: 'string', description: 'pass as `after` for the next page; absent on the last' },
  },
  required: ['employee', 'points'],
} as const;

const subjectSchema = {
  type: 'object',
  properties: {
    alert: { type: 'string' },
    alias: { type: 'string' },
    employee: {
      type: 'object',
      properties: { id: { type: 'string' }, name: { type: 'string' }, team: { type: 'string' }, role: { type: 'string' }, location: { type: 'string' } },
      required: ['id', 'name'],
    },
  },
  required: ['alert', 'alias', 'employee'],
} as const;

const page = {
  after: { type: 'string', minLength: 1, maxLength: 128, description: 'the `next` of the previous page' },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
} as const;

const ctxOf = (req: FastifyRequest): RequestContext => ({ channel: 'api', ip: req.ip });

type ListQuery = { state?: AlertState; severity?: Severity; employee?: string; from?: string; to?: string; after?: string; limit: number };

export function alertRoutes(deps: ActLogDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const desk = new AlertDesk(deps);
    type WithId = { Params: { id: string } };

    app.get<{ Querystring: ListQuery }>('/v1/alerts', {
      schema: {
        summary: 'Alerts, newest first, a page at a time; by state, severity, subject (alias) and detection time',
        tags: ['alerts'],
        querystring: {
          type: 'object',
          properties: {
            ...page,
            state: { type: 'string', enum: [...ALERT_STATES] },
            severity: { type: 'string', enum: [...SEVERITIES] },
            employee: { type: 'string', minLength: 1, maxLength: 128, description: "the subject's alias, as alerts show it" },
            from: { type: 'string', description: 'detected at or after (RFC 3339)' },
            to: { type: 'string', description: 'detected before (RFC 3339)' },
          },
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { alerts: { type: 'array', items: alertSchema }, next: { type: 'string' } }, required: ['alerts'] }, ...errors },
      },
    }, async (req) => {
      const q = req.query;
      const filter = {
        ...q,
        ...(q.from !== undefined ? { from: checkTime(q.from, 'from') } : {}),
        ...(q.to !== undefined ? { to: checkTime(q.to, 'to') } : {}),
      };
      const found = await desk.list(req.actor, filter, ctxOf(req));
      return { alerts: found.items, ...(found.next !== undefined ? { next: found.next } : {}) };
    });

    app.get<WithId>('/v1/alerts/:id', {
      schema: { summary: 'An alert, with its evidence and state changes (pseudonymised)', tags: ['alerts'], params: idParamSchema, response: { 200: alertSchema, ...errors } },
    }, async (req) => desk.get(req.actor, req.params.id, ctxOf(req)));

    app.get<WithId>('/v1/alerts/:id/subject', {
      schema: { summary: 'Who an alert is about: the employee behind the alias (a recorded read)', tags: ['alerts'], params: idParamSchema, response: { 200: subjectSchema, ...errors } },
    }, async (req) => desk.unmask(req.actor, req.params.id, ctxOf(req)));

    const moves: Array<{ move: AlertMove; summary: string; reasonRequired: boolean }> = [
      { move: 'acknowledge', summary: 'Acknowledge an open alert: someone is looking at it', reasonRequired: false },
      { move: 'dismiss', summary: 'Dismiss an open or acknowledged alert, with the reason', reasonRequired: true },
      { move: 'escalate', summary: 'Escalate an open or acknowledged alert (to an incident)', reasonRequired: false },
    ];
    for (const { move, summary, reasonRequired } of moves) {
      app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(`/v1/alerts/:id/${move}`, {
        // A POST without a body is a body without a reason (then checked like any other).
        preValidation: async (req) => {
          req.body ??= {};
        },
        schema: {
          summary,
          tags: ['alerts'],
          params: idParamSchema,
          body: {
            type: 'object',
            ...(reasonRequired ? { required: ['reason'] } : {}),
            properties: { reason: { type: 'string', minLength: 1, maxLength: 1000 } },
            additionalProperties: false,
          },
          response: { 200: alertSchema, ...errors },
        },
      }, async (req) => desk.move(req.actor, req.params.id, move, req.body?.reason, ctxOf(req)));
    }

    app.get<{ Params: { id: string }; Querystring: { after?: string; limit: number } }>('/v1/employees/:id/risk', {
      schema: {
        summary: "An employee's risk scores over time, with the detectors behind each; the id may be an alert's alias",
        tags: ['alerts'],
        params: idParamSchema,
        querystring: { type: 'object', properties: page, additionalProperties: false },
        response: { 200: riskSchema, ...errors },
      },
    }, async (req) => desk.risk(req.actor, req.params.id, req.query, ctxOf(req)));
  };
}
