import type { Command } from 'commander';
import { InvalidInputError } from '../errors.ts';
import { checkTime } from '../model.ts';
import { blastRadius, type BlastRadius, type RadiusWindow } from '../respond/blast-radius.ts';
import { recordedInvestigation } from '../respond/investigation.ts';
import { fileDirectory, fileExposures, storeDirectory, storeExposures } from '../respond/sources.ts';
import { actorOf, asOption, CLI_CONTEXT, withActLog, type AsFlag } from './operator.ts';
import { storeOptions, withStore, type StoreFlags } from './store-flags.ts';

interface BlastFlags extends StoreFlags, AsFlag {
  employee: string;
  from?: string;
  to?: string;
  events?: string;
  customers?: string;
  cases?: string;
  json?: boolean;
}

/** The window the flags give, times checked and normalised. */
export function windowOf(opts: { employee: string; from?: string; to?: string }): RadiusWindow {
  const from = opts.from !== undefined ? checkTime(opts.from, 'from') : undefined;
  const to = opts.to !== undefined ? checkTime(opts.to, 'to') : undefined;
  if (from !== undefined && to !== undefined && to <= from) throw new InvalidInputError('--to must be after --from', { field: 'to' });
  return { employee: opts.employee, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

export function registerBlastRadius(program: Command): void {
  asOption(storeOptions(
    program
      .command('blast-radius')
      .description('every customer whose data an employee revealed or exported: fields, first and last time, events, accesses without a valid purpose')
      .requiredOption('--employee <id>', 'the subject employee')
      .option('--from <time>', 'window start, inclusive (RFC 3339)')
      .option('--to <time>', 'window end, exclusive (RFC 3339)')
      .option('--events <file>', 'read events from this events.jsonl instead of the store (streamed)')
      .option('--customers <file>', 'with --events: customers.jsonl, for country and region')
      .option('--cases <file>', 'with --events: cases.jsonl, to tell which accesses had a valid purpose')
      .option('--json', 'print JSON: {"total","customers":[…],"byField","byCountry",…}'),
  )).action(async (opts: BlastFlags) => {
    const window = windowOf(opts);
    let radius: BlastRadius;
    if (opts.events !== undefined) {
      if (opts.data !== undefined || opts.store !== undefined) throw new InvalidInputError('give either --events (files) or --data/--store, not both', { field: 'events' });
      radius = await blastRadius(window, fileExposures(opts.events, window), fileDirectory({ ...(opts.cases ? { cases: opts.cases } : {}), ...(opts.customers ? { customers: opts.customers } : {}) }));
    } else {
      if (opts.customers !== undefined || opts.cases !== undefined) throw new InvalidInputError('--customers and --cases go with --events; the store has its own', { field: 'customers' });
      const actor = actorOf(opts);
      radius = await withStore(opts, (store, config) => withActLog(store, config, async (acts) => {
        // Recorded before anything is read: who looked into whom, and over which window.
        await recordedInvestigation(acts, actor, window.employee, { query: 'blast-radius', ...window }, CLI_CONTEXT);
        return blastRadius(window, storeExposures(store, window), storeDirectory(store));
      }));
    }
    process.stdout.write(opts.json ? `${JSON.stringify(radius, null, 2)}\n` : describeRadius(radius));
  });
}

function describeRadius(r: BlastRadius): string {
  const lines = [
    `${r.employee}${r.from ? ` from ${r.from}` : ''}${r.to ? ` to ${r.to}` : ''}: ${r.total} customer(s) exposed by ${r.events} event(s); ${r.unjustifiedCustomers} with an access without a valid purpose`,
    `by field: ${Object.entries(r.byField).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`,
    `by country: ${Object.entries(r.byCountry).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`,
  ];
  for (const c of r.customers) lines.push(`  ${c.customer} ${c.country} ${c.fields.join(',')} ${c.first}..${c.last} events ${c.events}${c.unjustified ? ` unjustified ${c.unjustified}` : ''}`);
  for (const n of r.notes ?? []) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
