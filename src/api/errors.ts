/**
 * Errors → HTTP, once. Client mistakes are 4xx with a body naming the field; only our
 * own failures are 5xx, and those never carry a stack or internals to the client.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { CustosError, ForbiddenError, InvalidInputError, httpStatusOf } from '../errors.ts';

export interface ErrorBody {
  error: string;
  message: string;
  reason?: string;
  field?: string;
  line?: number;
  problems?: Array<{ line: number; field?: string; message: string }>;
}

export const errorBodySchema = {
  type: 'object',
  properties: {
    error: { type: 'string', description: 'stable error code' },
    message: { type: 'string' },
    reason: { type: 'string', description: 'why a request was forbidden (403 only)' },
    field: { type: 'string', description: 'the input field at fault (400 only)' },
    line: { type: 'integer', description: 'the line at fault in a line-delimited body (400 only)' },
    problems: {
      type: 'array',
      description: 'every bad line found in a line-delimited body, up to 20 (400 only)',
      items: { type: 'object', properties: { line: { type: 'integer' }, field: { type: 'string' }, message: { type: 'string' } }, required: ['line', 'message'] },
    },
  },
  required: ['error', 'message'],
} as const;

/** `:id` in a path: the same bounds as every record id. */
export const idParamSchema = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
  required: ['id'],
} as const;

/** Response schemas for the error statuses a route can answer with. */
export function errorResponses<S extends number>(...statuses: S[]): Record<S, typeof errorBodySchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorBodySchema])) as Record<S, typeof errorBodySchema>;
}

/** ajv's path (`/purpose/kind`) or missing property as a field name: `purpose.kind`. */
function fieldOfValidation(err: FastifyError): string | undefined {
  const first = err.validation?.[0];
  if (!first) return undefined;
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing = (first.params as { missingProperty?: string; additionalProperty?: string }).missingProperty
    ?? (first.params as { additionalProperty?: string }).additionalProperty;
  return [path, missing].filter(Boolean).join('.') || undefined;
}

export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof CustosError) {
    const body: ErrorBody = { error: err.code, message: err.message };
    if (err instanceof ForbiddenError) body.reason = err.reason;
    if (err instanceof InvalidInputError && err.where?.field) body.field = err.where.field;
    if (err instanceof InvalidInputError && err.where?.line !== undefined) body.line = err.where.line;
    if (err instanceof InvalidInputError && err.where?.problems) body.problems = err.where.problems;
    return { status: httpStatusOf(err), body };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const field = fieldOfValidation(fe);
    const params = fe.validation[0]?.params as { additionalProperty?: string } | undefined;
    const message = params?.additionalProperty
      ? `${fe.validationContext ?? 'body'} has an unknown field "${params.additionalProperty}"`
      : `${fe.validationContext ?? 'body'}${field ? `.${field}` : ''} ${fe.validation[0]?.message ?? 'is invalid'}`;
    return { status: 400, body: { error: 'invalid_input', message, ...(field ? { field } : {}) } };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // fastify's own client errors: malformed JSON, wrong content type, body too large.
    const code = fe.statusCode === 404 ? 'not_found' : fe.statusCode === 401 ? 'unauthenticated' : 'invalid_input';
    return { status: fe.statusCode, body: { error: code, message: fe.message } };
  }
  return { status: 500, body: { error: 'internal', message: 'internal error; see the server log' } };
}

export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorResponse(err);
  if (status >= 500) request.log.error({ err, route: request.routeOptions.url }, 'request failed');
  void reply.status(status).send(body);
}
