/**
 * The reveal benchmark's baseline, a bench-only server: the same bearer-token check, store read
 * and AES-GCM decryption a reveal does, with no policy decision, budget or ledger record, so
 * the guarded/baseline ratio is the price of the guard.
 *
 * It lives in bench/ because the real server must have no such route (test/e2e/no-side-door.test.ts).
 * It is the one file outside src/broker/ allowed to import the vault's decryption module
 * (src/vault/boundary.test.ts). Run as a child process, like `custos serve`, so its CPU is its own:
 *
 *   node --import tsx bench/baseline-server.ts --data DIR [--port N]
 *
 * and it prints `baseline listening on URL` once it accepts requests.
 */
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { bearerAuth } from '../src/api/auth.ts';
import { handleError } from '../src/api/errors.ts';
import { loadConfig } from '../src/config.ts';
import { NotFoundError } from '../src/errors.ts';
import { loadOrCreateTokenIssuer, TokenVerifier } from '../src/identity/tokens.ts';
import { Store } from '../src/store/store.ts';
import { openVault } from '../src/vault/index.ts';
import { openerFor } from '../src/vault/decrypt.ts';

const { values } = parseArgs({ options: { data: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (!values.data) throw new Error('usage: baseline-server.ts --data DIR [--port N]');

const config = loadConfig({ data: values.data }, {});
const vault = openVault({ dir: config.keyDir });
if (!vault) throw new Error(`no key ring in ${config.keyDir}`);
const issuer = await loadOrCreateTokenIssuer(config.keyDir);
const verifier = new TokenVerifier({ localPublicJwks: [issuer.publicJwk], issuer: config.auth.issuer, audience: config.auth.audience, now: () => new Date() });
const store = await Store.open(config.store);
// The broker's field opener with its default data-key cache, so both sides unwrap equally often.
const opener = openerFor(vault);

const app = Fastify({ bodyLimit: 1024 * 1024 });
app.setErrorHandler(handleError);
await app.register(async (v1) => {
  await v1.register(bearerAuth, { verifier });
  // The reveal's path and body, so one request builder serves both servers.
  v1.post<{ Params: { id: string }; Body: { fields: string[] } }>('/v1/customers/:id/reveal', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 128 } }, required: ['id'] },
      body: { type: 'object', required: ['fields'], properties: { fields: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string' } }, purpose: { type: 'object' } } },
    },
  }, async (req) => {
    const customer = await store.customers.get(req.params.id);
    if (!customer) throw new NotFoundError(`no customer "${req.params.id}"`);
    return { customer: customer.id, fields: opener.open(customer, req.body.fields) };
  });
});

const address = await app.listen({ host: '127.0.0.1', port: Number(values.port) });
process.stderr.write(`baseline listening on ${address}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => store.close()).then(() => process.exit(0));
});
