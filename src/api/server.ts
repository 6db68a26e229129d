/**
 * The HTTP API: fastify composed from one plugin per resource. Request logs carry the
 * route pattern, status and actor — never the URL, a body or a header value.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Ajv } from 'ajv';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from '../log.ts';
import type { Broker } from '../broker/broker.ts';
import type { TokenVerifier } from '../identity/tokens.ts';
import { bearerAuth } from './auth.ts';
import { customerRoutes } from './customers.ts';
import { handleError } from './errors.ts';
import { rejectUnsafeText } from './unsafe-text.ts';

export interface ApiDeps {
  logger: Logger;
  verifier: TokenVerifier;
  broker: Broker;
  /** Extra resource plugins registered behind bearer auth (management, ledger). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
  health: () => Promise<Record<string, unknown>>;
}

export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Our onResponse hook logs each request without its URL (a query may hold an e-mail).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // Ids are up to 128 characters, up to three times that percent-encoded. A longer path
    // parameter must reach its route and be refused by the schema (400), not miss it (404).
    routerOptions: { maxParamLength: 3 * 128 },
  });
  // Bodies are JSON and checked strictly (no "42" for 42, no dropped unknown fields); path and
  // query values arrive as text and are coerced to the types their schemas declare.
  const strict = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false });
  const coercing = new Ajv({ removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false });
  for (const ajv of [strict, coercing]) ajv.addKeyword('example');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
  app.setErrorHandler(handleError);
  // On the root, before any plugin registers: every route, whoever adds it, is covered.
  app.addHook('preValidation', rejectUnsafeText);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.routeOptions.url ?? ''}`.trim() });
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime), actor: req.actor || undefined }, 'request');
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Custos API', version: '0.1.0', description: 'Purpose-bound access to customer personal data, recorded in a tamper-evident ledger.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', { schema: { summary: 'Liveness and store reachability', tags: ['health'], security: [] } }, async () => ({ status: 'ok', ...(await deps.health()) }));

  await app.register(async (v1) => {
    await v1.register(bearerAuth, { verifier: deps.verifier });
    await v1.register(customerRoutes, { broker: deps.broker });
    for (const plugin of deps.plugins ?? []) await v1.register(plugin);
  });
  return app as unknown as FastifyInstance;
}
