/**
 * `custos detect` as a user runs it, as a child process over a simulated organisation's events
 * (`custos simulate`, its 30 days played five times in a row): events/s over the whole command, beside a bare streaming JSONL parse of
 * the same file in this process (the same chunked line reading, JSON.parse and nothing else);
 * and peak RSS over the first 1M events and over all 5M with the same directory files, to show
 * that memory does not grow with the number of events.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { lineBatches } from '../src/detect/batch.ts';
import { runCustos, type CliRun } from './child.ts';
import { nowMs, pairedFigure, type RunPair } from './figures.ts';
import { RUNS, type Section } from './section.ts';
import { formatCount } from './table.ts';

interface Sizes {
  employees: number;
  customers: number;
  days: number;
  /** The simulated stretch is played this many times in a row, each later by `days`. */
  copies: number;
  small: number;
  large: number;
}

// About 38,000 events a simulated day at 2,000 employees: 30 days played five times make more
// than 5M events (simulating 150 days would take most of the benchmark's time).
const FULL: Sizes = { employees: 2000, customers: 200_000, days: 30, copies: 5, small: 1_000_000, large: 5_000_000 };
const QUICK: Sizes = { employees: 100, customers: 5_000, days: 10, copies: 3, small: 10_000, large: 30_000 };

export const detectSection: Section = {
  name: 'detect',
  description: 'custos detect (CLI child process) over simulated events: events/s beside a bare JSONL parse, peak RSS at 1M and 5M events',
  async run(ctx) {
    const sizes = ctx.quick ? QUICK : FULL;
    const sim = join(ctx.tmpDir, 'sim');
    const t0 = nowMs();
    const simulated = await runCustos(['simulate', '--employees', String(sizes.employees), '--customers', String(sizes.customers), '--days', String(sizes.days), '--seed', '7', '--out', sim]);
    requireOk(simulated, 'simulate');
    ctx.log(`detect: simulated ${sizes.employees} employees over ${sizes.days} days in ${((nowMs() - t0) / 1000).toFixed(0)} s`);
    const all = { events: join(ctx.tmpDir, 'events-all.jsonl'), cases: join(ctx.tmpDir, 'cases-all.jsonl') };
    await playAgain(join(sim, 'events.jsonl'), all.events, sizes);
    await playAgain(join(sim, 'cases.jsonl'), all.cases, sizes);
    const files = { small: join(ctx.tmpDir, 'events-small.jsonl'), large: join(ctx.tmpDir, 'events-large.jsonl') };
    for (const size of ['small', 'large'] as const) {
      const written = await copyLines(all.events, files[size], sizes[size]);
      if (written < sizes[size]) throw new Error(`the simulation wrote ${written} events, fewer than ${sizes[size]}`);
    }
    const directory = ['--customers', join(sim, 'customers.jsonl'), '--employees', join(sim, 'employees.jsonl'), '--cases', all.cases];

    const floor: number[] = [];
    for (let i = 0; i < RUNS; i++) floor.push(requireOk(await runCustos(['detect', '--help']), 'detect --help').peakRssMiB);
    const throughput: RunPair[] = [];
    const rssSmall: number[] = [];
    const rssLarge: number[] = [];
    const walls: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const baseline = await parseLines(files.large);
      const large = requireOk(await runCustos(['detect', ...directory, '--events', files.large, '--json']), 'detect');
      const small = requireOk(await runCustos(['detect', ...directory, '--events', files.small, '--json']), 'detect');
      throughput.push({ value: sizes.large / (large.wallMs / 1000), baseline: baseline.lines / (baseline.ms / 1000) });
      rssLarge.push(large.peakRssMiB);
      rssSmall.push(small.peakRssMiB);
      walls.push(large.wallMs / 1000);
      ctx.log(
        `detect: run ${i + 1}/${RUNS}: ${formatCount(sizes.large)} events in ${(large.wallMs / 1000).toFixed(1)} s (${(JSON.parse(large.stdout) as { alerts: unknown[] }).alerts.length} alerts), ` +
          `peak RSS ${large.peakRssMiB.toFixed(0)} MiB; ${formatCount(sizes.small)}: peak RSS ${small.peakRssMiB.toFixed(0)} MiB; parse only ${(baseline.ms / 1000).toFixed(1)} s`,
      );
    }

    const section = 'detect';
    return [
      pairedFigure({
        section,
        name: `custos detect, ${formatCount(sizes.large)} events`,
        unit: 'events/s',
        baselineName: 'chunked line read + JSON.parse only, in-process',
        runs: throughput,
        target: { on: 'ratio', op: '>=', bound: 0.5 },
        note: `whole command, start-up and loading the directory (${formatCount(sizes.customers)} customers, ${sizes.employees} employees, ${sizes.days * sizes.copies} days of cases) included: ${walls.map((s) => `${s.toFixed(1)} s`).join(', ')}; a ${sizes.days}-day simulation played ${sizes.copies} times in a row`,
      }),
      pairedFigure({
        section,
        name: `peak RSS, detect ${formatCount(sizes.small)} events`,
        unit: 'MiB',
        baselineName: 'peak RSS, custos detect --help',
        runs: rssSmall.map((value, i) => ({ value, baseline: floor[i] as number })),
      }),
      pairedFigure({
        section,
        name: `peak RSS, detect ${formatCount(sizes.large)} events`,
        unit: 'MiB',
        baselineName: `peak RSS, detect ${formatCount(sizes.small)} events`,
        runs: rssLarge.map((value, i) => ({ value, baseline: rssSmall[i] as number })),
        target: { on: 'ratio', op: '<=', bound: 1.25 },
        note: 'the same directory files for both; VmHWM of the CLI process, polled from /proc every 100 ms',
      }),
    ];
  },
};

const TIME_RE = /"(time|openedAt|closedAt)":"([^"]+)"/g;
const ID_RE = /"(id|ref)":"((?:ev|case)-[^"]+)"/g;

/**
 * Writes `from` `copies` times in a row: copy k moves every time by k × days and prefixes event
 * and case ids with `r<k>-`, so each copy is the same organisation's next stretch of work, in
 * time order, with its own cases (events and cases alike).
 */
async function playAgain(from: string, to: string, sizes: Sizes): Promise<void> {
  const out = createWriteStream(to);
  for (let k = 0; k < sizes.copies; k++) {
    const shift = k * sizes.days * 86_400_000;
    for await (const { lines } of lineBatches(from)) {
      const text = lines
        .filter((l) => l !== '')
        .map((l) => (k === 0 ? l : l.replace(TIME_RE, (_, key: string, t: string) => `"${key}":"${new Date(Date.parse(t) + shift).toISOString()}"`).replace(ID_RE, (_, key: string, id: string) => `"${key}":"r${k}-${id}"`)))
        .join('\n');
      if (text !== '' && !out.write(`${text}\n`)) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
}

/** Copies the first `count` lines of `from` into `to`; returns how many there were. */
async function copyLines(from: string, to: string, count: number): Promise<number> {
  const out = createWriteStream(to);
  let written = 0;
  for await (const { lines } of lineBatches(from)) {
    const take = lines.slice(0, count - written);
    if (take.length > 0 && !out.write(`${take.join('\n')}\n`)) await once(out, 'drain');
    written += take.length;
    if (written >= count) break;
  }
  out.end();
  await once(out, 'finish');
  return written;
}

/** The same line reading as `custos detect` (a megabyte at a time), JSON.parse and nothing else. */
async function parseLines(file: string): Promise<{ lines: number; ms: number }> {
  const start = nowMs();
  let lines = 0;
  for await (const batch of lineBatches(file)) {
    for (const text of batch.lines) {
      if (text.trim() === '') continue;
      JSON.parse(text);
      lines++;
    }
  }
  return { lines, ms: nowMs() - start };
}

function requireOk(run: CliRun, what: string): CliRun {
  if (run.code !== 0) throw new Error(`custos ${what} exited with ${run.code}: ${run.stderr.trim()}`);
  return run;
}
