/** The --data/--store flags every command that touches the store takes, and what they select. */
import { Option, type Command } from 'commander';
import { loadConfig, type CustosConfig } from '../config.ts';
import { Store } from '../store/store.ts';

/** The flags storeOptions adds. */
export interface StoreFlags {
  data?: string;
  store?: string;
}

/** The configuration a command's --data/--store flags select. */
export function configFromFlags(opts: StoreFlags): CustosConfig {
  return loadConfig({ ...(opts.data ? { data: opts.data } : {}), ...(opts.store ? { store: opts.store } : {}) });
}

/** Open the store the flags select, run `work`, close it whatever happens. */
export async function withStore<T>(opts: StoreFlags, work: (store: Store, config: CustosConfig) => Promise<T>): Promise<T> {
  const config = configFromFlags(opts);
  const store = await Store.open(config.store);
  try {
    return await work(store, config);
  } finally {
    await store.close();
  }
}

/** The flags every command that touches the store takes. */
export function storeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--data <dir>', 'data directory for the embedded store and key files (env CUSTOS_DATA)'))
    .addOption(new Option('--store <url>', 'store URL: postgres://… (env CUSTOS_STORE); default: SQLite under --data'));
}
