/**
 * Management of the records behind decisions: customers (create, replace, crypto-shred),
 * employees (create, replace, suspend, reinstate) and cases (open, replace, close).
 * Bodies follow the interchange contract (docs: DESIGN.md) and are checked by the same
 * parsers as `custos import`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RecordManager } from '../broker/manage.ts';
import type { RequestContext } from '../broker/decision-log.ts';
import { InvalidInputError } from '../errors.ts';
import { parseCase, parseCustomer, parseEmployee } from '../model.ts';
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
  required: ['employee', 'customer', 'openedAt', 'kind'],
  properties: {
    id: { type: 'string' },
    employee: { type: 'string' },
    customer: { type: 'string' },
    openedAt: { type: 'string', description: 'RFC 3339' },
    closedAt: { type: 'string' },
    kind: { type: 'string' },
    extra: { type: 'object', additionalProperties: true },
  },
  additionalProperties: true,
} as const;

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

export function recordRoutes(manager: RecordManager) {
  return async (app: FastifyInstance): Promise<void> => {
    type WithBody = { Body: Record<string, unknown> };
    type WithIdBody = { Params: { id: string }; Body: Record<string, unknown> };
    type WithId = { Params: { id: string } };

    app.post<WithBody>('/v1/customers', {
      schema: { summary: 'Create a customer (PII sealed in the vault)', tags: ['customers'], body: customerBody, response: { 201: maskedCustomerSchema, ...errors } },
    }, async (req, reply) => {
      const created = await manager.putCustomer(req.actor, parseCustomer(withId(req.body, undefined)), 'create', ctxOf(req));
      return reply.status(201).send(created);
    });
    app.put<WithIdBody>('/v1/customers/:id', {
      schema: { summary: 'Replace a customer', tags: ['customers'], params: idParamSchema, body: customerBody, response: { 200: maskedCustomerSchema, ...errors } },
    }, async (req) => manager.putCustomer(req.actor, parseCustomer(withId(req.body, req.params.id)), 'update', ctxOf(req)));
    app.delete<WithId>('/v1/customers/:id', {
      schema: { summary: 'Delete a customer and destroy its data key (crypto-shredding)', tags: ['customers'], params: idParamSchema, response: { 204: { type: 'null' }, ...errors } },
    }, async (req, reply) => {
      await manager.deleteCustomer(req.actor, req.params.id, ctxOf(req));
      return reply.status(204).send();
    });

    app.get<WithId>('/v1/employees/:id', {
      schema: { summary: 'An employee', tags: ['employees'], params: idParamSchema, response: { 200: employeeSchema, ...errors } },
    }, async (req) => manager.getEmployee(req.actor, req.params.id, ctxOf(req)));
    app.post<WithBody>('/v1/employees', {
      schema: { summary: 'Create an employee', tags: ['employees'], body: employeeSchema, response: { 201: employeeSchema, ...errors } },
    }, async (req, reply) => reply.status(201).send(await manager.putEmployee(req.actor, parseEmployee(withId(req.body, undefined)), 'create', ctxOf(req))));
    app.put<WithIdBody>('/v1/employees/:id', {
      schema: { summary: 'Replace an employee', tags: ['employees'], params: idParamSchema, body: employeeSchema, response: { 200: employeeSchema, ...errors } },
    }, async (req) => manager.putEmployee(req.actor, parseEmployee(withId(req.body, req.params.id)), 'update', ctxOf(req)));
    app.post<WithId>('/v1/employees/:id/suspend', {
      schema: { summary: 'Suspend an employee: every later request of theirs is denied', tags: ['employees'], params: idParamSchema, response: { 200: employeeSchema, ...errors } },
    }, async (req) => manager.setEmployeeStatus(req.actor, req.params.id, 'suspended', ctxOf(req)));
    app.post<WithId>('/v1/employees/:id/reinstate', {
      schema: { summary: 'Reinstate a suspended employee', tags: ['employees'], params: idParamSchema, response: { 200: employeeSchema, ...errors } },
    }, async (req) => manager.setEmployeeStatus(req.actor, req.params.id, 'active', ctxOf(req)));

    app.get<WithId>('/v1/cases/:id', {
      schema: { summary: 'A case', tags: ['cases'], params: idParamSchema, response: { 200: caseSchema, ...errors } },
    }, async (req) => manager.getCase(req.actor, req.params.id, ctxOf(req)));
    app.post<WithBody>('/v1/cases', {
      schema: { summary: 'Open a case linking an employee to a customer (a purpose for reveals)', tags: ['cases'], body: caseSchema, response: { 201: caseSchema, ...errors } },
    }, async (req, reply) => reply.status(201).send(await manager.putCase(req.actor, parseCase(withId(req.body, undefined)), 'create', ctxOf(req))));
    app.put<WithIdBody>('/v1/cases/:id', {
      schema: { summary: 'Replace a case', tags: ['cases'], params: idParamSchema, body: caseSchema, response: { 200: caseSchema, ...errors } },
    }, async (req) => manager.putCase(req.actor, parseCase(withId(req.body, req.params.id)), 'update', ctxOf(req)));
    app.post<WithId>('/v1/cases/:id/close', {
      schema: { summary: 'Close a case: it no longer justifies reveals', tags: ['cases'], params: idParamSchema, response: { 200: caseSchema, ...errors } },
    }, async (req) => manager.closeCase(req.actor, req.params.id, ctxOf(req)));
  };
}
