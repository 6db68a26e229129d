/**
 * The benchmark's unguarded baseline route, registered only with CUSTOS_BENCH_BASELINE=1:
 * the same authenticated request, store read and AES-GCM decryption as a reveal, with no
 * policy decision and no ledger record. `npm run bench` reports reveal throughput as a ratio
 * to it.
 */
import type { FastifyInstance } from 'fastify';
import type { Custos } from '../app.ts';

export function benchBaselineRoute(custos: Custos) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Params: { id: string }; Body: { fields: string[] } }>('/v1/bench/unguarded/:id', {
      schema: {
        hide: true,
        params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['id'] },
        body: { type: 'object', required: ['fields'], properties: { fields: { type: 'array', minItems: 1, items: { type: 'string' } }, purpose: { type: 'object' } } },
      },
    }, async (req) => ({ customer: req.params.id, fields: await custos.broker.unguardedReadForBenchmark(req.params.id, req.body.fields) }));
  };
}
