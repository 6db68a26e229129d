import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { openCustos } from '../app.ts';
import { buildApi } from '../api/start.ts';
import { loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { recordDemoEvents, seedDemoIfEmpty } from '../simulate/seed-demo.ts';
import { storeOptions } from './store-flags.ts';
import { actorOf } from './operator.ts';

export function registerServe(program: Command): void {
  storeOptions(
    program
      .command('serve')
      .description('run the API (and seed a demo organisation into an empty store)')
      .addOption(new Option('--port <n>', 'TCP port (env CUSTOS_PORT, default 8080; 0 picks a free one)'))
      .addOption(new Option('--host <addr>', 'address to listen on (env CUSTOS_HOST, default 127.0.0.1)'))
      .addOption(new Option('--policies <dir>', 'Cedar policy directory (env CUSTOS_POLICIES, default ./policies)'))
      .option('--no-demo', 'do not seed the demo organisation into an empty store'),
  ).action(async (opts: { port?: string; host?: string; policies?: string; demo: boolean; data?: string; store?: string }) => {
    const config = loadConfig({
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.host ? { host: opts.host } : {}),
      ...(opts.policies ? { policies: opts.policies } : {}),
      ...(opts.data ? { data: opts.data } : {}),
      ...(opts.store ? { store: opts.store } : {}),
      ...(opts.demo === false ? { demo: false } : {}),
    });
    const logger = createLogger(config.logLevel);
    const custos = await openCustos(config, { logger, detect: config.detect });
    const say = (line: string) => process.stderr.write(`${line}\n`);
    const demoDir = join(config.dataDir, 'demo');
    try {
      if (config.demo) {
        const seeded = await seedDemoIfEmpty(custos.store, custos.vault, custos.now(), undefined, demoDir);
        if (seeded) {
          await custos.detection?.reloadDirectory();
          say(`seeded a demo organisation: ${seeded.employees} employees, ${seeded.customers} customers (${seeded.canaries} canaries), ${seeded.cases} cases`);
          say('  try: agent emp-0001 holds open case case-000001 for customer cus-000001 (README "Quick start")');
          say(`  its last three weeks, ${seeded.insiders} insiders included, are in ${join(demoDir, 'events.jsonl')}; they are recorded in the background once the API listens`);
        }
      }
      const app = await buildApi(custos, logger);
      let address: string;
      try {
        address = await app.listen({ host: config.host, port: config.port });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new ConfigError(`cannot listen on ${config.host}:${config.port} (${code}); choose another with --port or CUSTOS_PORT`);
        }
        throw err;
      }
      say(`custos listening on ${address} — store ${custos.store.describe()}, ledger ${custos.appender.size} entries, API docs ${address}/docs`);
      let stopping = false;
      // The demo's events go into the ledger as ingested events while the API already answers,
      // so live detection raises the demo's alerts within a minute or two of a first start.
      if (config.demo) {
        recordDemoEvents(custos, actorOf({}), demoDir).then(
          (summary) => {
            if (summary) say(`recorded the demo's ${summary.ingested} events (ledger entries ${summary.first ?? '-'}–${summary.last ?? '-'}); alerts: GET /v1/alerts with a token of sec-0001`);
          },
          (err: unknown) => {
            if (!stopping) say(`custos: the demo's events were not all recorded: ${(err as Error).message}; the next start records the rest`);
          },
        );
      }
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        say(`${signal}: stopping (draining requests, signing a final checkpoint)`);
        void (async () => {
          try {
            await app.close();
            await custos.close();
            process.exit(0);
          } catch (err) {
            say(`custos: shutdown failed: ${(err as Error).message}`);
            process.exit(1);
          }
        })();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    } catch (err) {
      await custos.close();
      throw err;
    }
  });
}
