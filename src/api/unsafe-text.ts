/**
 * Unsafe text (../unsafe-text.ts) is refused once for every route, on the body (keys too), the
 * query and the path parameters, before any handler can record it.
 */
import type { FastifyRequest } from 'fastify';
import { InvalidInputError } from '../errors.ts';
import { findUnsafeText } from '../unsafe-text.ts';

/** fastify preValidation hook: 400 naming the field, before schema validation and any handler. */
export async function rejectUnsafeText(request: FastifyRequest): Promise<void> {
  for (const [part, value] of [['params', request.params], ['query', request.query], ['body', request.body]] as const) {
    const found = findUnsafeText(value);
    if (!found) continue;
    const field = found.path || part;
    throw new InvalidInputError(`${part}${found.path ? `.${found.path}` : ''} ${found.problem}; text may not contain NUL, bidirectional controls or lone surrogates`, { field });
  }
}
