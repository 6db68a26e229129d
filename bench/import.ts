/**
 * `custos import customers FILE` as a user runs it, as a child process into a fresh data
 * directory each run: throughput, and peak RSS to show that memory stays flat as the file grows
 * (the importer streams). The throughput baseline reads and JSON-parses the same file line by
 * line in this process: the floor no importer can beat.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { demoCustomer } from '../src/simulate/demo-org.ts';
import { runCustos, type CliRun } from './child.ts';
import { nowMs, pairedFigure, type RunPair } from './figures.ts';
import { RUNS, type Section } from './section.ts';
import { formatCount } from './table.ts';

interface Sizes {
  small: number;
  large: number;
}

const FULL: Sizes = { small: 100_000, large: 1_000_000 };
const QUICK: Sizes = { small: 2_000, large: 20_000 };

/** Above this a 1M-line import run is called slow in the report. */
const SLOW_RUN_SECONDS = 120;

interface SizeRuns {
  throughput: RunPair[];
  peakRssMiB: number[];
  wallSeconds: number[];
}

export const importSection: Section = {
  name: 'import',
  description: 'custos import customers (CLI child process): records/s and peak RSS',
  async run(ctx) {
    const sizes = ctx.quick ? QUICK : FULL;
    const files = { small: join(ctx.tmpDir, `customers-${sizes.small}.jsonl`), large: join(ctx.tmpDir, `customers-${sizes.large}.jsonl`) };
    for (const size of ['small', 'large'] as const) {
      const t0 = nowMs();
      await writeCustomerFile(files[size], sizes[size]);
      ctx.log(`import: wrote ${sizes[size].toLocaleString('en-US')} customers to ${files[size]} in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
    }

    // The CLI's own footprint before it reads a line: `import --help` loads every module an import does.
    const floor: number[] = [];
    for (let i = 0; i < RUNS; i++) floor.push(requireOk(await runCustos(['import', '--help']), 'import --help').peakRssMiB);

    const small: SizeRuns = { throughput: [], peakRssMiB: [], wallSeconds: [] };
    const large: SizeRuns = { throughput: [], peakRssMiB: [], wallSeconds: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const [size, runs] of [['small', small], ['large', large]] as const) {
        const baseline = await parseLines(files[size]);
        const run = await importOnce(files[size], sizes[size], join(ctx.tmpDir, `data-${size}-${i}`));
        runs.throughput.push({ value: sizes[size] / (run.wallMs / 1000), baseline: baseline.lines / (baseline.ms / 1000) });
        runs.peakRssMiB.push(run.peakRssMiB);
        runs.wallSeconds.push(run.wallMs / 1000);
        ctx.log(
          `import: run ${i + 1}/${RUNS}, ${sizes[size].toLocaleString('en-US')} customers: ${(run.wallMs / 1000).toFixed(1)} s, ` +
            `peak RSS ${run.peakRssMiB.toFixed(0)} MiB; parse only ${(baseline.ms / 1000).toFixed(1)} s`,
        );
      }
    }

    const section = 'import';
    const baselineName = 'read + JSON.parse only, in-process';
    const slow = large.wallSeconds.filter((s) => s > SLOW_RUN_SECONDS);
    return [
      pairedFigure({ section, name: `import ${formatCount(sizes.small)} customers`, unit: 'records/s', baselineName, runs: small.throughput, note: wallNote(small) }),
      pairedFigure({
        section,
        name: `import ${formatCount(sizes.large)} customers`,
        unit: 'records/s',
        baselineName,
        runs: large.throughput,
        note: `${wallNote(large)}${slow.length > 0 ? `; slow on this machine: ${slow.length} of ${RUNS} runs over ${SLOW_RUN_SECONDS} s` : ''}`,
      }),
      pairedFigure({
        section,
        name: `peak RSS, import ${formatCount(sizes.small)}`,
        unit: 'MiB',
        baselineName: 'peak RSS, custos import --help',
        runs: small.peakRssMiB.map((value, i) => ({ value, baseline: floor[i] as number })),
      }),
      pairedFigure({
        section,
        name: `peak RSS, import ${formatCount(sizes.large)}`,
        unit: 'MiB',
        baselineName: `peak RSS, import ${formatCount(sizes.small)}`,
        runs: large.peakRssMiB.map((value, i) => ({ value, baseline: small.peakRssMiB[i] as number })),
        target: { on: 'ratio', op: '<=', bound: 1.5 },
        note: 'VmHWM of the CLI process, polled from /proc every 100 ms',
      }),
    ];
  },
};

function wallNote(runs: SizeRuns): string {
  return `wall clock of the whole command, start-up included: ${runs.wallSeconds.map((s) => `${s.toFixed(1)} s`).join(', ')}`;
}

/** Streams `count` demo customers as JSON lines; never more than a chunk in memory. */
async function writeCustomerFile(file: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  const CHUNK = 1000;
  for (let start = 1; start <= count; start += CHUNK) {
    let text = '';
    for (let i = start; i < Math.min(start + CHUNK, count + 1); i++) text += `${JSON.stringify(demoCustomer(i))}\n`;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function importOnce(file: string, expected: number, dataDir: string): Promise<CliRun> {
  try {
    const run = requireOk(await runCustos(['import', 'customers', file, '--data', dataDir]), 'import');
    const imported = /imported (\d+) customers/.exec(run.stdout);
    if (Number(imported?.[1]) !== expected) throw new Error(`custos import reported "${run.stdout.trim()}", expected ${expected} customers`);
    return run;
  } finally {
    // A 1M-customer store is large; three of them need not sit on disk at once.
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function requireOk(run: CliRun, what: string): CliRun {
  if (run.code !== 0) throw new Error(`custos ${what} exited with ${run.code}: ${run.stderr.trim()}`);
  return run;
}

/** The same line reading as the importer (readline over a UTF-8 stream), JSON.parse and nothing else. */
async function parseLines(file: string): Promise<{ lines: number; ms: number }> {
  const start = nowMs();
  let lines = 0;
  const input = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const text of input) {
    if (text.trim() === '') continue;
    JSON.parse(text);
    lines++;
  }
  return { lines, ms: nowMs() - start };
}
