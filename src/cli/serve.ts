import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { openCustos } from '../app.ts';
import { buildApi } from '../api/start.ts';
import { loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { seedDemoIfEmpty } from '../simulate/seed-demo.ts';
import { storeOptions } from './store-flags.ts';

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
    try {
      if (config.demo) {
        const demoDir = join(config.dataDir, 'demo');
        const seeded = await seedDemoIfEmpty(custos.store, custos.vault, custos.now(), undefined, demoDir);
        if (seeded) {
          await custos.detection?.reloadDirectory();
          say(`seeded a demo organisation: ${seeded.employees} employees, ${seeded.customers} customers (${seeded.canaries} canaries), ${seeded.cases} cases`);
          say('  try: agent emp-0001 holds open case case-000001 for customer cus-000001 (README "Quick start")');
          say(`  its last three weeks, ${seeded.insiders} insiders included: ${join(demoDir, 'events.jsonl')} (custos ingest events records it; README "Simulate and evaluate")`);
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
