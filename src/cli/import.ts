import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import type { Act } from '../broker/acts.ts';
import { importFile, IMPORT_KINDS, type ImportKind } from '../importer/import-file.ts';
import { fileSha256, formatOf } from '../importer/read-records.ts';
import { InvalidInputError } from '../errors.ts';
import { storeCustomers } from '../broker/customer-writes.ts';
import { vaultForStore } from '../broker/key-ring-binding.ts';
import { openVault } from '../vault/index.ts';
import { configFromFlags, storeOptions, withStore } from './store-flags.ts';
import { actorOf, asOption, CLI_CONTEXT, withActLog, type AsFlag } from './operator.ts';

const MAX_REPORTED = 20;

export function registerImport(program: Command): void {
  asOption(storeOptions(
    program
      .command('import')
      .description('load customers, employees or cases from .jsonl or .csv (streamed; idempotent by id)')
      .argument('<kind>', `what the file holds: ${IMPORT_KINDS.join(' | ')}`)
      .argument('<file>', 'a .jsonl file (one JSON object per line) or a .csv file with a header')
      .addOption(new Option('--format <format>', 'override the format the file name suggests').choices(['jsonl', 'csv']))
      .option('--skip-bad', 'report bad lines and continue instead of stopping at the first', false),
  )).action(async (kind: string, file: string, opts: AsFlag & { format?: string; skipBad: boolean; data?: string; store?: string }) => {
    if (!(IMPORT_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidInputError(`unknown kind "${kind}"; expected one of ${IMPORT_KINDS.join(', ')}`, { field: 'kind' });
    }
    const actor = actorOf(opts);
    formatOf(file, opts.format);
    const keyDir = configFromFlags(opts).keyDir;
    const found = openVault({ dir: keyDir });
    let reported = 0;
    // The ledger records the intent (file name and digest) before the first record is written,
    // and the counts once the import ends, also when it stops at a bad line.
    const act: Act = {
      request: { action: 'import', resource: { type: 'Directory' } },
      action: 'update',
      target: { type: 'directory', id: kind },
      operation: 'import',
      details: { file: basename(file), sha256: await fileSha256(file) },
    };
    await withStore(opts, async (store, config) => {
      // The key ring first: a store opened with another data directory's keys is named as such.
      const vault = await vaultForStore(store, { keyDir, found, now: () => new Date(), createIfEmpty: true });
      await withActLog(store, config, async (acts) => {
      await acts.authorize(actor, act, CLI_CONTEXT);
      const writeCustomers = async (inputs: Parameters<typeof storeCustomers>[2], now: Date) => void (await storeCustomers(store, vault, inputs, now));
      let counts = { imported: 0, skipped: 0 };
      let summary;
      try {
        summary = await importFile(store, writeCustomers, {
          kind: kind as ImportKind,
          file,
          ...(opts.format ? { format: opts.format } : {}),
          skipBad: opts.skipBad,
          now: () => new Date(),
          onSkipped: (err) => {
            if (reported++ < MAX_REPORTED) process.stderr.write(`skipped: ${err.message}\n`);
          },
          onProgress: (now) => (counts = now),
        });
      } catch (err) {
        // What came before a bad line is kept: record how much. The import's own error is the one to report.
        await acts.recordOutcome(actor, act, { result: 'failed', ...counts }, CLI_CONTEXT).catch(() => {});
        throw err;
      }
      await acts.recordOutcome(actor, act, { result: 'done', imported: summary.imported, skipped: summary.skipped }, CLI_CONTEXT);
      if (summary.skipped > MAX_REPORTED) process.stderr.write(`… and ${summary.skipped - MAX_REPORTED} more bad lines\n`);
      process.stdout.write(`imported ${summary.imported} ${kind} from ${file}${summary.skipped ? `, skipped ${summary.skipped} bad lines` : ''} into ${store.describe()}\n`);
      });
    });
  });
}
