/**
 * Management of the records behind decisions: customers (create, replace, crypto-shred),
 * employees (list, create, replace, suspend, reinstate) and cases (list, open, edit, reassign,
 * close, reopen, history). Bodies follow the interchange contract (docs: DESIGN.md) and are
 * checked by the same parsers as `custos import`; every request is decided and recorded by the
 * record manager.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CaseBody, EmployeeBody, RecordManager } from '../broker/manage.ts';
import type { RequestContext } from '../broker/decision-log.ts';
import { InvalidInputError } from '../errors.ts';
import { checkTime, parseCase, parseCustomer, parseEmployee } from '../model.ts';
import { maskedCustomerSchema } from './customers.ts';
import { errorResponses, idParamSchema } from './errors.ts';

const errors = errorResponses(400, 401, 403, 404, 409, 503);

const customerBody = {
  type: 'object',
  required: ['email', 'phone', 'name', 'country'],
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    phone: { type: 'string' },
    name: { type: 'string' },
    country: { type: 'string' },
    region: { type: 'string' },
    locale: { type: 'string' },
    canary: { type: 'boolean' },
    vip: { type: 'boolean' },
    entity: { type: 'string', description: 'the legal entity holding the account (an id of config/entities.json), kept in clear' },
  },
  additionalProperties: { type: 'string', description: 'further PII fields, sealed like the others' },
} as const;

const employeeSchema = {
  type: 'object',
  required: ['name', 'team', 'role', 'location', 'hiredAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    team: { type: 'string' },
    role: { type: 'string' },
    location: { type: 'string' },
    hiredAt: { type: 'string', description: 'RFC 3339' },
    leftAt: { type: 'string' },
    manager: { type: 'string' },
    status: { type: 'string', enum: ['active', 'suspended'] },
    extra: { type: 'object', additionalProperties: true },
  },
  additionalProperties: true,
} as const;

const caseSchema = {
  type: 'object',
  required: ['employee', 'customer', 'kind'],
  properties: {
    id: { type: 'string' },
    employee: { type: 'string', description: 'the assignee; changed only by POST /v1/cases/:id/reassign' },
    customer: { type: 'string', description: 'never changes' },
    openedAt: { type: 'string', description: 'RFC 3339; on open, now (within 5 minutes) or left out' },
    closedAt: { type: 'string', description: 'set only by POST /v1/cases/:id/close' },
    kind: { type: 'string' },
    extra: { type: 'object', additionalProperties: true },
  },
  additionalProperties: true,
} as const;

const caseEventSchema = {
  type: 'object',
  properties: {
    at: { type: 'string' },
    operation: { type: 'string', enum: ['open', 'reassign', 'close', 'reopen'] },
    employee: { type: 'string', description: 'the assignee once the act was done' },
    actor: { type: 'string', description: 'who did it; absent for what an import carried' },
    seq: { type: 'integer', description: 'ledger index of the recorded decision' },
  },
  required: ['at', 'operation', 'employee'],
} as const;

const caseHistorySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    events: { type: 'array', items: caseEventSchema },
    assignments: {
      type: 'array',
      items: { type: 'object', properties: { employee: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } }, required: ['employee', 'from'] },
    },
  },
  required: ['id', 'events', 'assignments'],
} as const;

export const MAX_PAGE = 1000;

const pageQuery = {
  after: { type: 'string', minLength: 1, maxLength: 128, description: 'the `next` of the previous page' },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 },
} as const;

const pageOf = (key: string, item: object) => ({
  type: 'object',
  properties: { [key]: { type: 'array', items: item }, next: { type: 'string', description: 'pass as `after` for the next page; absent on the last' } },
  required: [key],
});

const ctxOf = (req: FastifyRequest): RequestContext => ({ channel: 'api', ip: req.ip });

/** On POST the id is in the body; on PUT the path names it and a body id must agree. */
function withId(body: Record<string, unknown>, pathId: string | undefined): Record<string, unknown> {
  if (pathId === undefined) {
    if (body.id === undefined) throw new InvalidInputError('field "id": is required', { field: 'id' });
    return body;
  }
  if (body.id !== undefined && body.id !== pathId) throw new InvalidInputError(`field "id": "${String(body.id)}" does not match the path id "${pathId}"`, { field: 'id' });
  return { ...body, id: pathId };
}

// Stands in for an omitted openedAt while parseCase checks the rest of the body.
const NO_OPENED_AT = '1970-01-01T00:00:00Z';

/** A case body: checked like an import line, except that openedAt and closedAt may be left out. */
function parseCaseBody(body: Record<string, unknown>, pathId: string | undefined): CaseBody {
  const { closedAt, ...rest } = withId(body, pathId);
  const { openedAt, ...record } = parseCase({ ...rest, openedAt: rest.openedAt ?? NO_OPENED_AT });
  return {
    ...record,
    ...(rest.openedAt !== undefined ? { openedAt } : {}),
    ...(closedAt !== undefined ? { closedAt: checkTime(String(closedAt), 'closedAt') } : {}),
  };
}

/** An employee body; on a replace, one that states no status keeps the stored one. */
function parseEmployeeBody(body: Record<string, unknown>, pathId: string): EmployeeBody {
  const { status, ...employee } = parseEmployee(withId(body, pathId));
  return body.status === undefined ? employee : { ...employee, status };
}

export function recordRoutes(manager: RecordManager) {
  return async (app: FastifyInstance): Promise<void> => {
    type WithBody = { Body: Record<string, unknown> };
    type WithIdBody = { Params: { id: string }; Body: Record<string, unknown> };
    type WithId = { Params: { id: string } };
    type Paged = { after?: string; limit: number };

    app.post<WithBody>('/v1/customers', {
      schema: { summary: 'Create a customer (PII sealed in the vault)', tags: ['customers'], body: customerBody, response: { 201: maskedCustomerSchema, ...errors } },
    }, async (req, reply) => {
      const created = await manager.createCustomer(req.actor, parseCustomer(withId(req.body, undefined)), ctxOf(req));
      return reply.status(201).send(created);
    });
    app.put<WithIdBody>('/v1/customers/:id', {
      schema: { summary: 'Replace a customer', tags: ['customers'], params: idParamSchema, body: customerBody, response: { 200: maskedCustomerSchema, ...errors } },
    }, async (req) => manager.replaceCustomer(req.actor, parseCustomer(withId(req.body, req.params.id)), ctxOf(req)));
    app.delete<WithId>('/v1/customers/:id', {
      schema: { summary: 'Delete a customer and destroy its data key (crypto-shredding)', tags: ['customers'], params: idParamSchema, response: { 204: { type: 'null' }, ...errors } },
    }, async (req, reply) => {
      await manager.deleteCustomer(req.actor, req.params.id, ctxOf(req));
      return reply.status(204).send();
    });

    app.get<{ Querystring: Paged }>('/v1/employees', {
      schema: {
        summary: 'Employees by id, a page at a time',
        tags: ['employees'],
        querystring: { type: 'object', properties: pageQuery, additionalProperties: false },
        response: { 200: pageOf('employees', employeeSchema), ...errors },
      },
    }, async (req) => {
      const page = await manager.listEmployees(req.actor, req.query, ctxOf(req));
      return { employees: page.items, ...(page.next !== undefined ? { next: page.next } : {}) };
    });
    app.get<WithId>('/v1/employees/:id', {
      schema: { summary: 'An employee', tags: ['employees'], params: idParamSchema, response: { 200: employeeSchema, ...errors } },
    }, async (req) => manager.getEmployee(req.actor, req.params.id, ctxOf(req)));
    app.post<WithBody>('/v1/employees', {
      schema: { summary: 'Create an employee', tags: ['employees'], body: employeeSchema, response: { 201: employeeSchema, ...errors } },
    }, async (req, reply) => reply.status(201).send(await manager.createEmployee(req.actor, parseEmployee(withId(req.body, undefined)), ctxOf(req))));
    app.put<WithIdBody>('/v1/employees/:id', {
      schema: { summary: 'Replace an employee (a body without status keeps the stored one)', tags: ['employees'], params: idParamSchema, body: employeeSchema, response: { 200: employeeSchema, ...errors } },
    }, async (req) => manager.replaceEmployee(req.actor, parseEmployeeBody(req.body, req.params.id), ctxOf(req)));
    app.post<WithId>('/v1/employees/:id/suspend', {
      schema: { summary: 'Suspend an employee: every later request of theirs is denied', tags: ['employees'], params: idParamSchema, response: { 200: employeeSchema, ...errors } },
    }, async (req) => manager.setEmployeeStatus(req.actor, req.params.id, 'suspended', ctxOf(req)));
    app.post<WithId>('/v1/employees/:id/reinstate', {
      schema: { summary: 'Reinstate a suspended employee', tags: ['employees'], params: idParamSchema, response: { 200: employeeSchema, ...errors } },
    }, async (req) => manager.setEmployeeStatus(req.actor, req.params.id, 'active', ctxOf(req)));

    app.get<{ Querystring: Paged & { employee?: string; customer?: string; open?: boolean } }>('/v1/cases', {
      schema: {
        summary: 'Cases by id, a page at a time; optionally of one assignee or customer, open or not',
        tags: ['cases'],
        querystring: {
          type: 'object',
          properties: {
            ...pageQuery,
            employee: { type: 'string', minLength: 1, maxLength: 128 },
            customer: { type: 'string', minLength: 1, maxLength: 128 },
            open: { type: 'boolean' },
          },
          additionalProperties: false,
        },
        response: { 200: pageOf('cases', caseSchema), ...errors },
      },
    }, async (req) => {
      const page = await manager.listCases(req.actor, req.query, ctxOf(req));
      return { cases: page.items, ...(page.next !== undefined ? { next: page.next } : {}) };
    });
    app.get<WithId>('/v1/cases/:id', {
      schema: { summary: 'A case', tags: ['cases'], params: idParamSchema, response: { 200: caseSchema, ...errors } },
    }, async (req) => manager.getCase(req.actor, req.params.id, ctxOf(req)));
    app.get<WithId>('/v1/cases/:id/history', {
      schema: { summary: "A case's history: every open, reassign, close and reopen, and who held it when", tags: ['cases'], params: idParamSchema, response: { 200: caseHistorySchema, ...errors } },
    }, async (req) => manager.caseHistory(req.actor, req.params.id, ctxOf(req)));
    app.post<WithBody>('/v1/cases', {
      schema: { summary: 'Open a case linking an employee to a customer (a purpose for reveals), now', tags: ['cases'], body: caseSchema, response: { 201: caseSchema, ...errors } },
    }, async (req, reply) => reply.status(201).send(await manager.openCase(req.actor, parseCaseBody(req.body, undefined), ctxOf(req))));
    app.put<WithIdBody>('/v1/cases/:id', {
      schema: { summary: "Edit a case's kind and extra fields; employee, customer, openedAt and closedAt must be as stored (409 otherwise)", tags: ['cases'], params: idParamSchema, body: caseSchema, response: { 200: caseSchema, ...errors } },
    }, async (req) => manager.replaceCase(req.actor, parseCaseBody(req.body, req.params.id), ctxOf(req)));
    app.post<{ Params: { id: string }; Body: { employee: string } }>('/v1/cases/:id/reassign', {
      schema: {
        summary: 'Hand a case to another employee; the earlier assignment stays in its history',
        tags: ['cases'],
        params: idParamSchema,
        body: { type: 'object', required: ['employee'], properties: { employee: { type: 'string', minLength: 1, maxLength: 128 } }, additionalProperties: false },
        response: { 200: caseSchema, ...errors },
      },
    }, async (req) => manager.reassignCase(req.actor, req.params.id, req.body.employee, ctxOf(req)));
    app.post<WithId>('/v1/cases/:id/close', {
      schema: { summary: 'Close a case, now: it no longer justifies reveals', tags: ['cases'], params: idParamSchema, response: { 200: caseSchema, ...errors } },
    }, async (req) => manager.closeCase(req.actor, req.params.id, ctxOf(req)));
    app.post<WithId>('/v1/cases/:id/reopen', {
      schema: { summary: 'Reopen a closed case', tags: ['cases'], params: idParamSchema, response: { 200: caseSchema, ...errors } },
    }, async (req) => manager.reopenCase(req.actor, req.params.id, ctxOf(req)));
  };
}
