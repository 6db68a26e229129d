/** /v1/customers: masked views, blind-index search, purpose-bound reveals. */
import type { FastifyInstance } from 'fastify';
import { PURPOSE_KINDS, type Broker } from '../broker/broker.ts';
import { errorResponses, idParamSchema } from './errors.ts';

export const maskedCustomerSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    country: { type: 'string' },
    region: { type: ['string', 'null'] },
    locale: { type: ['string', 'null'] },
    vip: { type: 'boolean' },
    entity: { type: ['string', 'null'], description: 'the legal entity holding the account, when the record names one' },
    fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'every PII field, masked' },
  },
  required: ['id', 'country', 'fields'],
} as const;

const revealBody = {
  type: 'object',
  additionalProperties: false,
  required: ['fields'],
  properties: {
    fields: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 64 } },
    purpose: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'ref'],
      properties: {
        kind: { type: 'string', enum: [...PURPOSE_KINDS] },
        ref: { type: 'string', minLength: 1, maxLength: 128, description: 'the case id' },
      },
    },
  },
} as const;

const errors = errorResponses(400, 401, 403, 404, 503);

export async function customerRoutes(app: FastifyInstance, opts: { broker: Broker }): Promise<void> {
  const { broker } = opts;

  app.get<{ Params: { id: string } }>('/v1/customers/:id', {
    schema: {
      summary: 'A customer with every PII field masked',
      tags: ['customers'],
      params: idParamSchema,
      response: { 200: maskedCustomerSchema, ...errors },
    },
  }, async (req) => broker.viewCustomer(req.actor, req.params.id, { channel: 'api', ip: req.ip }));

  app.get<{ Querystring: { email?: string; phone?: string; country?: string } }>('/v1/customers', {
    schema: {
      summary: 'Find customers by e-mail or phone (blind index), masked',
      tags: ['customers'],
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          email: { type: 'string', minLength: 3, maxLength: 320 },
          phone: { type: 'string', minLength: 3, maxLength: 32 },
          country: { type: 'string', pattern: '^[A-Z]{2}$', description: 'reads a national phone number in this country' },
        },
      },
      response: { 200: { type: 'object', properties: { customers: { type: 'array', items: maskedCustomerSchema } } }, ...errors },
    },
  }, async (req) => ({ customers: await broker.searchCustomers(req.actor, req.query, { channel: 'api', ip: req.ip }) }));

  app.post<{ Params: { id: string }; Body: { fields: string[]; purpose?: { kind: string; ref: string } } }>('/v1/customers/:id/reveal', {
    schema: {
      summary: 'Reveal fields in clear for a purpose (a case linking you to this customer)',
      description: 'Allowed only if the Cedar policies allow it; recorded in the ledger before any value is returned. 403 bodies carry a machine-readable `reason`.',
      tags: ['customers'],
      params: idParamSchema,
      body: revealBody,
      response: {
        200: {
          type: 'object',
          properties: {
            customer: { type: 'string' },
            fields: { type: 'object', additionalProperties: { type: 'string' } },
            seq: { type: 'integer', description: 'ledger index of the recorded decision' },
          },
        },
        ...errors,
      },
    },
  }, async (req) => broker.revealFields(req.actor, req.params.id, req.body.fields, req.body.purpose, { channel: 'api', ip: req.ip }));
}
