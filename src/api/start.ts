/** Build the HTTP API over an opened Custos and listen. */
import type { FastifyInstance } from 'fastify';
import type { Custos } from '../app.ts';
import type { Logger } from '../log.ts';
import { recordRoutes } from './records.ts';
import { ledgerRoutes } from './ledger.ts';
import { eventRoutes } from './events.ts';
import { alertRoutes } from './alerts.ts';
import { incidentRoutes } from './incidents.ts';
import { buildServer } from './server.ts';

export async function buildApi(custos: Custos, logger: Logger): Promise<FastifyInstance> {
  return buildServer({
    logger,
    verifier: custos.verifier,
    broker: custos.broker,
    plugins: [
      recordRoutes(custos.records),
      ledgerRoutes(custos),
      eventRoutes(custos, custos.config.ingest),
      alertRoutes(custos),
      incidentRoutes(custos, logger),
    ],
    health: async () => {
      const detection = custos.detection?.health();
      return {
        // Requests are still served: the server is up, detection is not.
        ...(detection?.state === 'failed' ? { status: 'degraded' } : {}),
        store: custos.store.dialect,
        ledger: { size: custos.appender.size },
        ...(detection ? { detection } : {}),
      };
    },
  });
}

export async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  return app.listen({ host, port });
}
