import { Option, type Command } from 'commander';
import { rotateKeys } from '../broker/key-rotation.ts';
import { InvalidInputError } from '../errors.ts';
import { loadSigningKeys, rotateSigningKey, SIGNING_KEY_FILE } from '../ledger/index.ts';
import { initKeyRing, vaultForStore } from '../broker/key-ring-binding.ts';
import { openVault } from '../vault/index.ts';
import type { Store } from '../store/store.ts';
import type { CustosConfig } from '../config.ts';
import { join } from 'node:path';
import { configFromFlags, storeOptions, withStore } from './store-flags.ts';
import { actorOf, asOption, recordedAct, withActLog, type AsFlag } from './operator.ts';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('key-encryption keys (KEKs) and the ledger signing key');

  asOption(storeOptions(
    keys
      .command('rotate')
      .description('make a new KEK current, re-wrap every customer data key under it, then destroy the old KEK (safe while serving)')
      .addOption(new Option('--settle-ms <ms>', 'pause this long after fencing the store to the new KEK, before re-wrapping (lets running servers load it first; not needed for safety)').default('0')),
  )).action(async (opts: AsFlag & { settleMs: string; data?: string; store?: string }) => {
    const settleMs = Number(opts.settleMs);
    if (!Number.isInteger(settleMs) || settleMs < 0 || settleMs > 600_000) throw new InvalidInputError(`--settle-ms must be a whole number of milliseconds from 0 to 600000, got "${opts.settleMs}"`, { field: 'settle-ms' });
    const actor = actorOf(opts);
    await withStore(opts, (store, config) => withActLog(store, config, async (acts) => {
      const kek = { request: { action: 'rotate_key', resource: { type: 'Key', id: 'kek' } }, action: 'update', target: { type: 'key', id: 'kek' }, operation: 'rotate' } as const;
      const summary = await recordedAct(acts, actor, kek, async () => {
        const done = await rotateKeys(store, await storeVault(store, config), { now: () => new Date(), settleMs });
        return { result: done, outcome: { newKekId: done.newKekId, customers: done.customers, rewrapped: done.rewrapped, retired: done.retired.length } };
      });
      process.stdout.write(
        `new KEK ${summary.newKekId}: re-wrapped ${summary.rewrapped} of ${summary.customers} data keys; retired ${summary.retired.length ? summary.retired.join(', ') : 'none'}\n` +
          'back up the key file now: copies of it made before this rotation no longer open these data keys\n',
      );
    }));
  });

  storeOptions(keys.command('init').description('create the key ring for an empty store (serve and import do so on first start); refused when the store holds data'))
    .action(async (opts: { data?: string; store?: string }) => {
      await withStore(opts, async (store, config) => {
        const vault = await initKeyRing(store, { keyDir: config.keyDir, now: () => new Date() });
        const status = vault.status();
        process.stdout.write(`created key ring ${status.ringId} (KEK ${status.currentKekId}) in ${vault.source} for ${store.describe()}\n`);
        process.stderr.write('back the key file up now, apart from the database: without it no customer data can be read\n');
      });
    });

  storeOptions(keys.command('status').description('the key ring and its KEKs, and the ring and KEK the store expects (ids and dates only, never key material)'))
    .action(async (opts: { data?: string; store?: string }) => {
      await withStore(opts, async (store, config) => {
        const vault = await storeVault(store, config);
        const identity = await store.keyRingIdentity.get();
        process.stdout.write(`${JSON.stringify({ ...vault.status(), store: { ...identity, location: store.describe() } }, null, 2)}\n`);
      });
    });

  asOption(storeOptions(keys.command('rotate-signing').description('add a new ledger signing key; the old one is retired but stays listed so old checkpoints still verify')))
    .action(async (opts: AsFlag & { data?: string; store?: string }) => {
      const config = configFromFlags(opts);
      const path = join(config.keyDir, SIGNING_KEY_FILE);
      await loadSigningKeys(path);
      const actor = actorOf(opts);
      const signing = { request: { action: 'rotate_key', resource: { type: 'Key', id: 'signing' } }, action: 'update', target: { type: 'key', id: 'signing' }, operation: 'rotate' } as const;
      const rotated = await withStore(opts, (store) => withActLog(store, config, (acts) => recordedAct(acts, actor, signing, async () => {
        const keys = await rotateSigningKey(path, new Date());
        // The verifier key is public: name+keyid+key; its key id names the new key.
        return { result: keys, outcome: { newKeyId: keys.verifierKeys().at(-1)?.split('+')[1] ?? '' } };
      })));
      process.stdout.write(`${rotated.verifierKeys().join('\n')}\n`);
      process.stderr.write('restart running servers to sign with the new key; publish the new verifier key (last line) to your auditors\n');
    });
}

/** The store's key ring; never a new one (that is `keys init`, or a first start). */
function storeVault(store: Store, config: CustosConfig) {
  return vaultForStore(store, { keyDir: config.keyDir, found: openVault({ dir: config.keyDir }), now: () => new Date(), createIfEmpty: false });
}
