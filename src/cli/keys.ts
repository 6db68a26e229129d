import { Option, type Command } from 'commander';
import { rotateKeys } from '../broker/key-rotation.ts';
import { InvalidInputError } from '../errors.ts';
import { loadSigningKeys, rotateSigningKey, SIGNING_KEY_FILE } from '../ledger/index.ts';
import { loadKeyRing } from '../vault/index.ts';
import { join } from 'node:path';
import { configFromFlags, storeOptions, withStore } from './store-flags.ts';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('key-encryption keys (KEKs) and the ledger signing key');

  storeOptions(
    keys
      .command('rotate')
      .description('make a new KEK current, re-wrap every customer data key under it, then destroy the old KEK (safe while serving)')
      .addOption(new Option('--settle-ms <ms>', 'wait this long for running servers to load the new KEK before re-wrapping').default('2500')),
  ).action(async (opts: { settleMs: string; data?: string; store?: string }) => {
    const settleMs = Number(opts.settleMs);
    if (!Number.isInteger(settleMs) || settleMs < 0 || settleMs > 600_000) throw new InvalidInputError(`--settle-ms must be a whole number of milliseconds from 0 to 600000, got "${opts.settleMs}"`, { field: 'settle-ms' });
    await withStore(opts, async (store, config) => {
      const summary = await rotateKeys(store, loadKeyRing({ dir: config.keyDir }), { now: () => new Date(), settleMs });
      process.stdout.write(
        `new KEK ${summary.newKekId}: re-wrapped ${summary.rewrapped} of ${summary.customers} data keys; retired ${summary.retired.length ? summary.retired.join(', ') : 'none'}\n` +
          'back up the key file now: copies of it made before this rotation no longer open these data keys\n',
      );
    });
  });

  storeOptions(keys.command('status').description('list the KEKs (ids and dates only, never key material)'))
    .action(async (opts: { data?: string }) => {
      const config = configFromFlags(opts);
      const ring = loadKeyRing({ dir: config.keyDir });
      process.stdout.write(`${JSON.stringify(ring.toJSON(), null, 2)}\n`);
    });

  storeOptions(keys.command('rotate-signing').description('add a new ledger signing key; the old one is retired but stays listed so old checkpoints still verify'))
    .action(async (opts: { data?: string }) => {
      const config = configFromFlags(opts);
      const path = join(config.keyDir, SIGNING_KEY_FILE);
      await loadSigningKeys(path);
      const rotated = await rotateSigningKey(path, new Date());
      process.stdout.write(`${rotated.verifierKeys().join('\n')}\n`);
      process.stderr.write('restart running servers to sign with the new key; publish the new verifier key (last line) to your auditors\n');
    });
}
