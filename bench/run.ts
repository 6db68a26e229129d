/**
 * `npm run bench [-- SECTION… ] [--quick] [--out FILE]`: runs the selected sections (all by
 * default), prints one table to stdout and writes bench/results.json. Progress goes to stderr.
 * Generated data lives under bench/tmp/ and is deleted at the end, whatever happens.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerSection } from './broker.ts';
import { detectSection } from './detect.ts';
import { killChildren } from './child.ts';
import { nowMs, type Figure } from './figures.ts';
import { importSection } from './import.ts';
import { ledgerSection } from './ledger.ts';
import { notifySection } from './notify.ts';
import { policySection } from './policy.ts';
import { respondSection } from './respond.ts';
import { revealSection } from './reveal.ts';
import type { Section } from './section.ts';
import { startupSection } from './startup.ts';
import { renderTable } from './table.ts';

const SECTIONS: readonly Section[] = [revealSection, brokerSection, policySection, importSection, ledgerSection, startupSection, respondSection, notifySection, detectSection];
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

interface Args {
  sections: Section[];
  quick: boolean;
  out: string;
}

interface Results {
  generatedAt: string;
  machine: { cpus: number; model: string; node: string; memoryGiB: number };
  quick: boolean;
  /** Total wall time of this run, seconds. */
  durationSeconds: number;
  /** Sections that failed, with the error; their figures are missing. */
  failures?: { section: string; error: string }[];
  warnings?: { section: string; message: string }[];
  results: Figure[];
}

function usage(): string {
  return [
    'usage: npm run bench -- [SECTION…] [--quick] [--out FILE]',
    '',
    'sections (all when none is named):',
    ...SECTIONS.map((s) => `  ${s.name.padEnd(8)} ${s.description}`),
    '',
    '  --quick     small sizes and short runs: a smoke test of the harness, not a measurement',
    '  --out FILE  where to write the results (default bench/results.json; with --quick, bench/tmp/results-quick.json)',
  ].join('\n');
}

function parseArgs(argv: readonly string[]): Args {
  const names: string[] = [];
  let quick = false;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--quick') quick = true;
    else if (a === '--out') {
      const file = argv[++i];
      if (!file) throw new UsageError('--out needs a file name');
      out = resolve(file);
    } else if (a === '--help' || a === '-h') throw new UsageError('');
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else names.push(a);
  }
  const unknown = names.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length > 0) throw new UsageError(`unknown section(s): ${unknown.join(', ')}`);
  // Table order is the documented order, whatever order they were named in.
  const sections = names.length === 0 ? [...SECTIONS] : SECTIONS.filter((s) => names.includes(s.name));
  // A smoke run must not overwrite the committed results with toy figures.
  return { sections, quick, out: out ?? join(BENCH_DIR, quick ? 'tmp/results-quick.json' : 'results.json') };
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (!err.message) {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    process.stderr.write(`bench: ${err.message}\n${usage()}\n`);
    return 2;
  }
  const started = nowMs();
  const tmpRoot = join(BENCH_DIR, 'tmp', `run-${process.pid}`);
  const cleanUp = () => rmSync(tmpRoot, { recursive: true, force: true });
  // Interrupted: no server or import may outlive us, and the data must not stay behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      cleanUp();
      process.exit(130);
    });
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const figures: Figure[] = [];
  const failures: { section: string; error: string }[] = [];
  const warnings: { section: string; message: string }[] = [];
  try {
    for (const section of args.sections) {
      const tmpDir = join(tmpRoot, section.name);
      mkdirSync(tmpDir, { recursive: true });
      const t0 = nowMs();
      log(`== ${section.name}: ${section.description}${args.quick ? ' (quick)' : ''}`);
      try {
        const warn = (message: string) => {
          warnings.push({ section: section.name, message });
          log(`${section.name}: WARNING: ${message}`);
        };
        figures.push(...(await section.run({ quick: args.quick, tmpDir, log, warn })));
      } catch (err) {
        // One broken section must not cost the others' figures.
        failures.push({ section: section.name, error: describeFailure(err) });
        log(`bench: section ${section.name} failed: ${describeFailure(err)}`);
      } finally {
        rmSync(tmpDir, { recursive: true, force: true });
      }
      log(`== ${section.name}: ${((nowMs() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    cleanUp();
  }
  const durationSeconds = Math.round((nowMs() - started) / 1000);
  const cpu = cpus();
  const results: Results = {
    generatedAt: new Date().toISOString(),
    machine: { cpus: cpu.length, model: cpu[0]?.model ?? 'unknown', node: process.version, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10 },
    quick: args.quick,
    durationSeconds,
    ...(failures.length > 0 ? { failures } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    results: figures,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${renderTable(figures)}\n\n`);
  process.stdout.write(
    `ratio = value / baseline value, the median of the per-run ratios; value and baseline are medians of ${args.quick ? 'quick ' : ''}runs (sums for counts).\n` +
      `${results.machine.cpus} × ${results.machine.model}, Node ${results.machine.node}; ${durationSeconds} s in all; results in ${args.out}\n`,
  );
  for (const w of warnings) process.stdout.write(`WARNING (${w.section}): ${w.message}\n`);
  if (failures.length > 0) process.stdout.write(`FAILED sections: ${failures.map((f) => f.section).join(', ')} (see stderr)\n`);
  return failures.length > 0 ? 1 : 0;
}

// Exit explicitly: a driver's idle socket or timer must not keep a finished benchmark alive.
process.exit(await main());

/** The stack, and the chain of causes under it (a failed append says why only in its cause). */
function describeFailure(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(depth === 0 ? ((e as Error).stack ?? String(e)) : `caused by: ${(e as Error).stack ?? String(e)}`);
  }
  return parts.join('\n');
}
