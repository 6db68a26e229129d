import { Option, type Command } from 'commander';
import { importFile, IMPORT_KINDS, type ImportKind } from '../importer/import-file.ts';
import { InvalidInputError } from '../errors.ts';
import { storeCustomers } from '../broker/customer-writes.ts';
import { vaultForStore } from '../broker/key-ring-binding.ts';
import { openVault } from '../vault/index.ts';
import { configFromFlags, storeOptions, withStore } from './store-flags.ts';

const MAX_REPORTED = 20;

export function registerImport(program: Command): void {
  storeOptions(
    program
      .command('import')
      .description('load customers, employees or cases from .jsonl or .csv (streamed; idempotent by id)')
      .argument('<kind>', `what the file holds: ${IMPORT_KINDS.join(' | ')}`)
      .argument('<file>', 'a .jsonl file (one JSON object per line) or a .csv file with a header')
      .addOption(new Option('--format <format>', 'override the format the file name suggests').choices(['jsonl', 'csv']))
      .option('--skip-bad', 'report bad lines and continue instead of stopping at the first', false),
  ).action(async (kind: string, file: string, opts: { format?: string; skipBad: boolean; data?: string; store?: string }) => {
    if (!(IMPORT_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidInputError(`unknown kind "${kind}"; expected one of ${IMPORT_KINDS.join(', ')}`, { field: 'kind' });
    }
    const keyDir = configFromFlags(opts).keyDir;
    const found = openVault({ dir: keyDir });
    let reported = 0;
    await withStore(opts, async (store) => {
      const vault = await vaultForStore(store, { keyDir, found, now: () => new Date(), createIfEmpty: true });
      const writeCustomers = async (inputs: Parameters<typeof storeCustomers>[2], now: Date) => void (await storeCustomers(store, vault, inputs, now));
      const summary = await importFile(store, writeCustomers, {
        kind: kind as ImportKind,
        file,
        ...(opts.format ? { format: opts.format } : {}),
        skipBad: opts.skipBad,
        now: () => new Date(),
        onSkipped: (err) => {
          if (reported++ < MAX_REPORTED) process.stderr.write(`skipped: ${err.message}\n`);
        },
      });
      if (summary.skipped > MAX_REPORTED) process.stderr.write(`… and ${summary.skipped - MAX_REPORTED} more bad lines\n`);
      process.stdout.write(`imported ${summary.imported} ${kind} from ${file}${summary.skipped ? `, skipped ${summary.skipped} bad lines` : ''} into ${store.describe()}\n`);
    });
  });
}
