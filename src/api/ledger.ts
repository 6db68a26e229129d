/**
 * /v1/ledger: the signed checkpoint, inclusion and consistency proofs, and raw entries, so
 * anyone can check the log with any RFC 9162 / C2SP tlog implementation.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Custos } from '../app.ts';
import { LedgerAccess } from '../broker/ledger-access.ts';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { consistencyProofToJson, inclusionProofToJson, leafHash } from '../ledger/index.ts';
import { toHex } from '../ledger/proof-format.ts';
import { errorResponses } from './errors.ts';

const MAX_ENTRIES_PER_CALL = 1000;
const errors = errorResponses(400, 401, 403, 404, 503);
const whole = { type: 'integer', minimum: 0 } as const;

export function ledgerRoutes(custos: Custos) {
  return async (app: FastifyInstance): Promise<void> => {
    const committedSize = (): number => custos.appender.size;
    const access = new LedgerAccess(custos);
    const asEmployee = (req: FastifyRequest) => ({ kind: 'employee', id: req.actor }) as const;
    const ctxOf = (req: FastifyRequest) => ({ channel: 'api', ip: req.ip }) as const;

    app.get('/v1/ledger/checkpoint', {
      schema: {
        summary: 'The latest checkpoint the checkpointer signed (C2SP tlog-checkpoint, Ed25519 signed-note) and the verifier keys; 404 before the first',
        tags: ['ledger'],
        response: {
          200: {
            type: 'object',
            properties: {
              checkpoint: { type: 'string', description: 'the signed note, exactly as signed' },
              size: { type: 'integer' },
              signedAt: { type: 'string' },
              verifierKeys: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errors,
        },
      },
    }, async () => {
      // Only the checkpointer signs (every N entries, every T ms, on shutdown): a caller cannot
      // make the server sign and store a checkpoint per request.
      const latest = custos.checkpointer.latest();
      if (!latest) throw new NotFoundError('no checkpoint has been signed yet: the checkpointer signs once entries are recorded (CUSTOS_CHECKPOINT_EVERY, CUSTOS_CHECKPOINT_INTERVAL_MS)');
      return { checkpoint: latest.note, size: latest.size, signedAt: latest.signedAt, verifierKeys: custos.signingKeys.verifierKeys() };
    });

    app.get<{ Querystring: { index: number; size?: number } }>('/v1/ledger/proof/inclusion', {
      schema: {
        summary: 'Inclusion proof of entry `index` in the tree of `size` entries (default: the latest checkpoint)',
        tags: ['ledger'],
        querystring: { type: 'object', additionalProperties: false, required: ['index'], properties: { index: whole, size: whole } },
        response: { ...errors },
      },
    }, async (req) => {
      const size = req.query.size ?? custos.checkpointer.latest()?.size ?? committedSize();
      checkRange('size', size, 1, committedSize());
      checkRange('index', req.query.index, 0, size - 1);
      return inclusionProofToJson(await access.inclusionProof(asEmployee(req), req.query.index, size, ctxOf(req)));
    });

    app.get<{ Querystring: { from: number; to?: number } }>('/v1/ledger/proof/consistency', {
      schema: {
        summary: 'Consistency proof between the trees of `from` and `to` entries (default `to`: the latest checkpoint)',
        tags: ['ledger'],
        querystring: { type: 'object', additionalProperties: false, required: ['from'], properties: { from: whole, to: whole } },
        response: { ...errors },
      },
    }, async (req) => {
      const to = req.query.to ?? custos.checkpointer.latest()?.size ?? committedSize();
      checkRange('to', to, 1, committedSize());
      checkRange('from', req.query.from, 1, to);
      return consistencyProofToJson(await access.consistencyProof(asEmployee(req), req.query.from, to, ctxOf(req)));
    });

    app.get<{ Querystring: { from?: number; to?: number } }>('/v1/ledger/entries', {
      schema: {
        summary: `Raw entries [from, to), at most ${MAX_ENTRIES_PER_CALL} per call: the exact bytes (base64) and their RFC 9162 leaf hashes`,
        tags: ['ledger'],
        querystring: { type: 'object', additionalProperties: false, properties: { from: whole, to: whole } },
        response: {
          200: {
            type: 'object',
            properties: {
              entries: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, entry: { type: 'string' }, leafHash: { type: 'string' } } } },
              next: { type: ['integer', 'null'], description: 'the `from` of the next page, null at the end' },
            },
          },
          ...errors,
        },
      },
    }, async (req) => {
      const size = committedSize();
      const from = req.query.from ?? 0;
      const to = Math.min(req.query.to ?? size, size, from + MAX_ENTRIES_PER_CALL);
      if (from > size) throw new InvalidInputError(`from must be at most the ledger size ${size}`, { field: 'from' });
      const entries = [];
      // Entries name actors and customers: the read is decided (read_ledger) and recorded first.
      for await (const e of await access.entries(asEmployee(req), { from, to }, 'read', ctxOf(req))) {
        entries.push({ index: e.index, entry: Buffer.from(e.entry).toString('base64'), leafHash: toHex(leafHash(e.entry)) });
      }
      return { entries, next: to < size && to < (req.query.to ?? size) ? to : null };
    });
  };
}

function checkRange(field: string, value: number, min: number, max: number): void {
  if (value < min || value > max) {
    throw new InvalidInputError(max < min ? `${field}: the ledger has no entries yet` : `${field} must be from ${min} to ${max}, got ${value}`, { field });
  }
}
