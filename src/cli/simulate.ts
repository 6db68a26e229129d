import { type Command } from 'commander';
import { InvalidInputError } from '../errors.ts';
import { simulateToDirectory } from '../simulate/simulate.ts';

interface SimulateFlags {
  employees: string;
  customers: string;
  days: string;
  seed: string;
  out: string;
  start?: string;
}

/** A whole number in [min, max] from flag `--name`, or an error naming the flag. */
export function wholeNumberFlag(name: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidInputError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`, { field: name });
  }
  return n;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('write a simulated organisation (customers, employees, cases, access events) with injected insiders, and truth.json')
    .requiredOption('--employees <n>', 'employees (10..100000)')
    .requiredOption('--customers <n>', 'customers (100..10000000)')
    .requiredOption('--days <n>', 'days of access events (2..730)')
    .option('--seed <n>', 'seed of the run: the same seed writes the same files', '1')
    .requiredOption('--out <dir>', 'directory for customers.jsonl, employees.jsonl, cases.jsonl, events.jsonl and truth.json')
    .option('--start <date>', 'first day (UTC, YYYY-MM-DD)', '2026-03-02')
    .action((opts: SimulateFlags) => {
      const size = {
        employees: wholeNumberFlag('employees', opts.employees, 10, 100_000),
        customers: wholeNumberFlag('customers', opts.customers, 100, 10_000_000),
        days: wholeNumberFlag('days', opts.days, 2, 730),
        seed: wholeNumberFlag('seed', opts.seed, 0, 2 ** 32 - 1),
        start: startFlag(opts.start ?? '2026-03-02'),
      };
      const began = performance.now();
      // A progress line on a terminal: a large run takes minutes.
      const progress = process.stderr.isTTY
        ? (day: number, written: number) => process.stderr.write(`\rday ${day}/${size.days}, ${written.toLocaleString('en-US')} events`)
        : undefined;
      const { truth, events } = simulateToDirectory(size, opts.out, progress);
      if (progress) process.stderr.write('\n');
      const seconds = (performance.now() - began) / 1000;
      process.stderr.write(`simulated ${events} events in ${seconds.toFixed(1)} s (${Math.round(events / seconds)}/s) from ${truth.start} to ${truth.end}, ${truth.insiders.length} insiders\n`);
      process.stdout.write(`${opts.out}: customers.jsonl employees.jsonl cases.jsonl events.jsonl truth.json\n`);
    });
}

function startFlag(value: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    throw new InvalidInputError(`--start must be a date such as 2026-03-02, got "${value}"`, { field: 'start' });
  }
  return date;
}
