/**
 * A real Custos for end-to-end tests: real store (either dialect), real key files, the real
 * server on a random port, spoken to over real HTTP.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openCustos, type Custos, type OpenOptions } from '../../src/app.ts';
import { buildApi } from '../../src/api/start.ts';
import { loadConfig } from '../../src/config.ts';
import { issueToken } from '../../src/identity/tokens.ts';
import { createLogger } from '../../src/log.ts';
import { DEFAULT_POLICY_DIR } from '../../src/policy/index.ts';
import { seedDemoIfEmpty } from '../../src/simulate/seed-demo.ts';
import type { StoreLocation } from '../../src/store/store.ts';
import { cpSync } from 'node:fs';

export interface TestInstance {
  custos: Custos;
  app: FastifyInstance;
  base: string;
  dataDir: string;
  token(employee: string, ttlSeconds?: number): Promise<string>;
  call(method: string, path: string, opts?: { token?: string; body?: unknown; rawBody?: string }): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export interface InstanceOptions {
  store: StoreLocation;
  /** Reuse this data directory and its key files, as a restarted server does (default: a new one). */
  dataDir?: string;
  customers?: number;
  /** Replace roles.json budgets, e.g. to test budget_exceeded quickly. */
  rolesPatch?: (roles: any) => void;
  env?: Record<string, string>;
  /** Where the server's log lines go (default: nowhere). */
  logLines?: string[];
  /** Run live detection, as `custos serve` does (default: off). */
  detect?: boolean;
  /** Make live detection's worker die (OpenOptions.detectionFaults). */
  detectionFaults?: OpenOptions['detectionFaults'];
  /** Seed the demo organisation into an empty store (default: yes). */
  demo?: boolean;
}

export async function startInstance(opts: InstanceOptions): Promise<TestInstance> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'custos-e2e-'));
  let policyDir = DEFAULT_POLICY_DIR;
  if (opts.rolesPatch) {
    policyDir = join(dataDir, 'policies');
    cpSync(DEFAULT_POLICY_DIR, policyDir, { recursive: true });
    const roles = JSON.parse(readFileSync(join(policyDir, 'roles.json'), 'utf8'));
    opts.rolesPatch(roles);
    writeFileSync(join(policyDir, 'roles.json'), JSON.stringify(roles));
  }
  const config = loadConfig({ data: dataDir, port: 0, policies: policyDir }, { CUSTOS_CHECKPOINT_EVERY: '5', ...(opts.env ?? {}) });
  config.store = opts.store;
  const logger = opts.logLines
    ? createLogger('info', { write: (line: string) => void opts.logLines!.push(line) })
    : createLogger('silent');
  const custos = await openCustos(config, { logger, ...(opts.detect ? { detect: true } : {}), ...(opts.detectionFaults ? { detectionFaults: opts.detectionFaults } : {}) });
  if (opts.demo !== false && (await seedDemoIfEmpty(custos.store, custos.vault, custos.now(), opts.customers ?? 300))) {
    await custos.detection?.reloadDirectory();
  }
  const app = await buildApi(custos, logger);
  // As `custos serve` does: the ledger writer thread's start is not the first request's to wait for.
  await custos.store.warmUp();
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    custos,
    app,
    base,
    dataDir,
    token: (employee, ttlSeconds = 600) =>
      issueToken(custos.tokenIssuer, { subject: employee, issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds, now: new Date() }),
    async call(method, path, o = {}) {
      const headers: Record<string, string> = {};
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.rawBody !== undefined) body = o.rawBody;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed };
    },
    async stop() {
      await app.close();
      await custos.close();
    },
  };
}
