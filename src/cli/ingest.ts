import { basename } from 'node:path';
import type { Command } from 'commander';
import { EventIngest } from '../broker/ingest.ts';
import { InvalidInputError } from '../errors.ts';
import { fileSha256 } from '../importer/read-records.ts';
import { storeOptions, withStore } from './store-flags.ts';
import { actorOf, asOption, CLI_CONTEXT, withActLog, type AsFlag } from './operator.ts';

export function registerIngest(program: Command): void {
  asOption(storeOptions(
    program
      .command('ingest')
      .description('record access events from a system not behind the broker (.jsonl, streamed; all or nothing)')
      .argument('<kind>', 'what the file holds: events')
      .argument('<file>', 'a .jsonl file, one DESIGN.md access event per line')
      .option('--source <name>', 'the system the events come from, recorded with each (default: "file")', 'file'),
  )).action(async (kind: string, file: string, opts: AsFlag & { source: string; data?: string; store?: string }) => {
    if (kind !== 'events') throw new InvalidInputError(`unknown kind "${kind}"; expected events`, { field: 'kind' });
    const actor = actorOf(opts);
    const sha256 = await fileSha256(file);
    await withStore(opts, async (store, config) => {
      await withActLog(store, config, async (_acts, deps) => {
        const run = await new EventIngest(deps).begin(actor, opts.source, { file: basename(file), sha256 }, CLI_CONTEXT);
        try {
          const summary = await run.ingestFile(file, file);
          const range = summary.first !== undefined ? ` (ledger entries ${summary.first}–${summary.last})` : '';
          const skipped = summary.skipped > 0 ? `, skipped ${summary.skipped} already ingested from "${opts.source}"` : '';
          process.stdout.write(`ingested ${summary.ingested} events from ${file}${range}${skipped} into ${store.describe()}; ingest act at ledger entry ${summary.act}\n`);
        } catch (err) {
          // The first bad line is the error's message; the others are listed before it.
          const others = err instanceof InvalidInputError ? (err.where?.problems ?? []).slice(1) : [];
          for (const p of others) process.stderr.write(`also bad: ${p.message}\n`);
          throw err;
        }
      });
    });
  });
}
