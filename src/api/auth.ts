/** Every /v1 call carries a bearer JWT; its verified subject becomes `request.actor`. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { TokenVerifier } from '../identity/tokens.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor: string;
  }
}

export const bearerAuth = fp(async (app: FastifyInstance, opts: { verifier: TokenVerifier }) => {
  app.decorateRequest('actor', '');
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const { actor } = await opts.verifier.verifyAuthorization(request.headers.authorization);
    request.actor = actor;
  });
});
