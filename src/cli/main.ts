/**
 * `custos`: parse flags, call services, print. No logic lives here. Every failure is one
 * line on stderr and a documented exit code (README "Exit codes"); never a stack trace.
 */
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, type CustosConfig } from '../config.ts';
import { CustosError, exitCodeOf, ForbiddenError, InvalidInputError } from '../errors.ts';
import { Store } from '../store/store.ts';
import { registerServe } from './serve.ts';
import { registerImport } from './import.ts';
import { registerToken } from './token.ts';
import { registerKeys } from './keys.ts';
import { registerCustomers } from './customers.ts';
import { registerLedger } from './ledger.ts';

export function buildProgram(): Command {
  const program = new Command('custos')
    .description('Custos guards customers\' personal data from misuse by the people trusted with it.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServe(program);
  registerImport(program);
  registerToken(program);
  registerKeys(program);
  registerCustomers(program);
  registerLedger(program);
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

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

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return reportFailure(err);
  }
}

export function reportFailure(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end here too, successfully.
    return err.exitCode === 0 ? 0 : exitCodeOf(new InvalidInputError(err.message));
  }
  if (err instanceof ForbiddenError) {
    process.stderr.write(`custos: forbidden (${err.reason}): ${err.message}\n`);
  } else if (err instanceof CustosError) {
    process.stderr.write(`custos: ${err.message}\n`);
  } else {
    process.stderr.write(`custos: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.CUSTOS_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  }
  return exitCodeOf(err);
}

/** The `custos` command (bin/custos.js): run, then exit with the command's code. */
export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  // serve keeps running until a signal; every other command exits once its output is flushed,
  // even if a driver left a socket or timer behind.
  if (code !== 0 || argv[2] !== 'serve') {
    process.exitCode = code;
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  }
}

// Run directly (tsx src/cli/main.ts …) as well as through bin/custos.js.
if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv);
