import type { Command } from 'commander';
import { ConfigError, InvalidInputError } from '../errors.ts';
import { checkTime } from '../model.ts';
import { attribute, readLeakedList, type Attribution } from '../respond/attribution.ts';
import { recordedSweep } from '../respond/investigation.ts';
import { fileCustomerExposures, fileCustomerMatcher, fileDirectory, storeCustomerExposures, storeCustomerMatcher, storeDirectory } from '../respond/sources.ts';
import { ephemeralBlindIndexer, keyRingPath, openVault } from '../vault/index.ts';
import { actorOf, asOption, CLI_CONTEXT, withActLog, type AsFlag } from './operator.ts';
import { configFromFlags, storeOptions, withStore, type StoreFlags } from './store-flags.ts';

interface AttributeFlags extends StoreFlags, AsFlag {
  leaked: string;
  leakedAt?: string;
  country?: string;
  top?: string;
  customers?: string;
  events?: string;
  cases?: string;
  json?: boolean;
}

export function registerAttribute(program: Command): void {
  asOption(storeOptions(
    program
      .command('attribute')
      .description('match a leaked list of e-mails and phone numbers to customers (blind index, nothing decrypted) and rank the employees who could have leaked it')
      .requiredOption('--leaked <file>', 'the list: one e-mail address or phone number per line')
      .option('--leaked-at <time>', 'when the list surfaced (RFC 3339): only accesses before it can explain it')
      .option('--country <code>', 'read national phone numbers in the list as this country\'s (ISO 3166-1 alpha-2)')
      .option('--top <n>', 'candidates to print, best first (default 50)')
      .option('--customers <file>', 'match against customers.jsonl instead of the store (with --events)')
      .option('--events <file>', 'events.jsonl to rank employees from (with --customers; streamed)')
      .option('--cases <file>', 'with --events: cases.jsonl, to tell which accesses had a valid purpose')
      .option('--json', 'print JSON: {"matched","unmatched","candidates":[…]}'),
  )).action(async (opts: AttributeFlags) => {
    const leakedAt = opts.leakedAt !== undefined ? checkTime(opts.leakedAt, 'leaked-at') : undefined;
    const country = opts.country?.toUpperCase();
    if (country !== undefined && !/^[A-Z]{2}$/.test(country)) throw new InvalidInputError('--country must be an ISO 3166-1 alpha-2 code such as "IT"', { field: 'country' });
    const top = opts.top !== undefined ? Number(opts.top) : undefined;
    if (top !== undefined && (!Number.isInteger(top) || top < 1)) throw new InvalidInputError('--top must be a whole number ≥ 1', { field: 'top' });
    const options = { ...(leakedAt !== undefined ? { leakedAt } : {}), ...(top !== undefined ? { top } : {}) };
    const listOptions = country !== undefined ? { country } : {};
    let result: Attribution;
    if (opts.customers !== undefined || opts.events !== undefined) {
      if (opts.customers === undefined || opts.events === undefined) throw new InvalidInputError('--customers and --events go together', { field: opts.customers === undefined ? 'customers' : 'events' });
      if (opts.data !== undefined || opts.store !== undefined) throw new InvalidInputError('give either --customers/--events (files) or --data/--store, not both', { field: 'customers' });
      // A key for this run only: the files hold clear values, hashed here the vault's way.
      const indexer = ephemeralBlindIndexer();
      const list = await readLeakedList(opts.leaked, indexer, listOptions);
      const events = opts.events;
      result = await attribute(list, fileCustomerMatcher(opts.customers, indexer), fileCustomerExposures(events), fileDirectory(opts.cases !== undefined ? { cases: opts.cases } : {}), options);
    } else {
      if (opts.cases !== undefined) throw new InvalidInputError('--cases goes with --events; the store has its own', { field: 'cases' });
      const config = configFromFlags(opts);
      const vault = openVault({ dir: config.keyDir });
      if (!vault) throw new ConfigError(`${keyRingPath(config.keyDir)}: no key file; the store's blind indexes need its key ring (--data DIR)`);
      const list = await readLeakedList(opts.leaked, { email: (v) => vault.blindIndexEmail(v), phone: (v, c) => vault.blindIndexPhone(v, c) }, listOptions);
      const actor = actorOf(opts);
      result = await withStore(opts, (store) => withActLog(store, config, async (acts) => {
        await recordedSweep(acts, actor, { query: 'attribute', lines: list.entries.length + list.bad.length, ...(leakedAt !== undefined ? { leakedAt } : {}) }, CLI_CONTEXT);
        return attribute(list, storeCustomerMatcher(store), storeCustomerExposures(store), storeDirectory(store), options);
      }));
    }
    for (const b of result.bad) process.stderr.write(`${opts.leaked}:${b.line}: ${b.reason}\n`);
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : describeAttribution(result));
  });
}

function describeAttribution(a: Attribution): string {
  const lines = [`${a.matched} line(s) matched ${a.customers} customer(s); ${a.unmatched} matched no one; ${a.bad.length} unreadable${a.canaries.length ? `; canaries in the list: ${a.canaries.join(', ')}` : ''}`];
  for (const c of a.candidates) lines.push(`${c.score.toFixed(1).padStart(5)}  ${c.employee}  covered ${c.covered} (${(c.coverage * 100).toFixed(1)}%)  unjustified ${c.unjustified}\n       ${c.explanation}`);
  return `${lines.join('\n')}\n`;
}
