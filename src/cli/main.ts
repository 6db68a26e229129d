/**
 * `custos`: parse flags, call services, print. No logic lives here. Every failure is one
 * line on stderr and a documented exit code (README "Exit codes"); never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { CustosError, exitCodeOf, ForbiddenError, InvalidInputError } from '../errors.ts';

/** A top-level command as `custos --help` lists it, and how to load its module. */
export interface LazyCommand {
  /** The name and arguments, in commander's syntax. */
  usage: string;
  summary: string;
  load(): Promise<(program: Command) => void>;
}

/**
 * A command's module, and everything it imports (the store, Cedar, fastify…), is loaded only
 * when the command is named: `custos --version` and `--help` load none of them, `custos token
 * issue` only what tokens need. `usage` and `summary` repeat what each module registers;
 * main.test.ts checks that they agree.
 */
export const COMMANDS: readonly LazyCommand[] = [
  { usage: 'serve', summary: 'run the API (and seed a demo organisation into an empty store)', load: async () => (await import('./serve.ts')).registerServe },
  {
    usage: 'import <kind> <file>',
    summary: 'load customers, employees or cases from .jsonl or .csv (streamed; idempotent by id)',
    load: async () => (await import('./import.ts')).registerImport,
  },
  {
    usage: 'ingest <kind> <file>',
    summary: 'record access events from a system not behind the broker (.jsonl, streamed; all or nothing)',
    load: async () => (await import('./ingest.ts')).registerIngest,
  },
  { usage: 'token', summary: 'bearer tokens for the API', load: async () => (await import('./token.ts')).registerToken },
  { usage: 'keys', summary: 'key-encryption keys (KEKs) and the ledger signing key', load: async () => (await import('./keys.ts')).registerKeys },
  {
    usage: 'customers',
    summary: 'customer records through the broker: masked, or revealed for a purpose (recorded like any API call)',
    load: async () => (await import('./customers.ts')).registerCustomers,
  },
  {
    usage: 'blast-radius',
    summary: 'every customer whose data an employee revealed or exported: fields, first and last time, events, accesses without a valid purpose',
    load: async () => (await import('./blast-radius.ts')).registerBlastRadius,
  },
  {
    usage: 'attribute',
    summary: 'match a leaked list of e-mails and phone numbers to customers (blind index, nothing decrypted) and rank the employees who could have leaked it',
    load: async () => (await import('./attribute.ts')).registerAttribute,
  },
  {
    usage: 'incident',
    summary: 'incidents: open (containing a suspected employee at once), show, list, move through their lifecycle, export evidence',
    load: async () => (await import('./incident.ts')).registerIncident,
  },
  {
    usage: 'ledger',
    summary: 'the tamper-evident access ledger: checkpoints, proofs, verification, export',
    load: async () => (await import('./ledger.ts')).registerLedger,
  },
  {
    usage: 'simulate',
    summary: 'write a simulated organisation (customers, employees, cases, access events) with injected insiders, and truth.json',
    load: async () => (await import('./simulate.ts')).registerSimulate,
  },
  {
    usage: 'detect',
    summary: 'run the detectors over customers, employees, cases and events files; print the alerts',
    load: async () => (await import('./detect.ts')).registerDetect,
  },
  {
    usage: 'eval',
    summary: 'score alerts against a simulation\'s truth: each insider detected or not, time to detect, false positives per 1,000 employee-days',
    load: async () => (await import('./eval.ts')).registerEval,
  },
  {
    usage: 'obligations',
    summary: 'who must be told of a breach, by when and why (cited rules per jurisdiction); draft authority reports',
    load: async () => (await import('./obligations.ts')).registerObligations,
  },
  {
    usage: 'notify',
    summary: 'notices to the customers of an incident in the store: queue, render, send through SMTP, status',
    load: async () => (await import('./notify.ts')).registerNotify,
  },
];

/** The program for `argv`: the command it names registered in full, the others as their summary. */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('custos')
    .description('Custos guards customers\' personal data from misuse by the people trusted with it.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const named = commandNamed(argv);
  for (const command of COMMANDS) {
    if (commandName(command) === named) (await command.load())(program);
    else program.command(command.usage).description(command.summary);
  }
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

function commandName(command: LazyCommand): string {
  return command.usage.split(' ')[0] as string;
}

/** The top-level command `argv` names, if any: its first word, or the next after `help`. */
function commandNamed(argv: readonly string[]): string | undefined {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

export async function run(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
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
