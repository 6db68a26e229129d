import { readFileSync } from 'node:fs';
import { type Command } from 'commander';
import { InvalidInputError } from '../errors.ts';
import { evaluate, formatEvaluation, parseAlerts, parseTruth } from '../simulate/evaluate.ts';

function readJson(file: string, flag: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`--${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file, field: flag });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`${file}: not JSON (${(err as Error).message})`, { file, field: flag });
  }
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('score alerts against a simulation\'s truth: each insider detected or not, time to detect, false positives per 1,000 employee-days')
    .requiredOption('--truth <file>', 'truth.json written by custos simulate')
    .requiredOption('--alerts <file>', 'alerts as custos detect --json prints them')
    .option('--json', 'print the evaluation as JSON', false)
    .action((opts: { truth: string; alerts: string; json: boolean }) => {
      const truth = parseTruth(readJson(opts.truth, 'truth'), opts.truth);
      const alerts = parseAlerts(readJson(opts.alerts, 'alerts'), opts.alerts);
      const result = evaluate(truth, alerts);
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatEvaluation(result)}\n`);
    });
}
