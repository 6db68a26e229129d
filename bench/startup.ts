/**
 * How long a `custos` command takes from the shell's point of view: the wall time of the whole
 * process, from spawn to exit, beside `node -e 0` (Node starting and doing nothing) measured in
 * the same rounds, so the ratio says what Custos adds to Node's own start. `token issue` runs
 * against the demo organisation's data directory, as in the README's "Try it".
 */
import { spawn } from 'node:child_process';
import { CUSTOS_BIN, childEnv } from './child.ts';
import { nowMs, pairedFigure, type Figure, type RunPair, type Target } from './figures.ts';
import { AGENT, prepareDataDir } from './reveal.ts';
import type { Section } from './section.ts';

/** Starts of each command: the figure is their median. */
const STARTS = 5;

export const startupSection: Section = {
  name: 'startup',
  description: 'custos --version, --help and token issue: whole-process wall time beside node -e 0',
  async run(ctx) {
    const { dataDir } = await prepareDataDir(ctx, 'startup', { customers: ctx.quick ? 200 : 10_000, pairs: 1 });
    const commands: { name: string; args: string[]; target: Target }[] = [
      { name: 'custos --version', args: ['--version'], target: { on: 'value', op: '<', bound: 300 } },
      { name: 'custos --help', args: ['--help'], target: { on: 'value', op: '<', bound: 300 } },
      { name: 'custos token issue', args: ['token', 'issue', '--employee', AGENT, '--data', dataDir], target: { on: 'value', op: '<', bound: 800 } },
    ];
    // Once untimed: the first token issue creates the token key, and every file is then in the page cache.
    for (const c of commands) await wallMs([CUSTOS_BIN, ...c.args]);
    const runs = new Map<string, RunPair[]>(commands.map((c) => [c.name, []]));
    for (let i = 0; i < STARTS; i++) {
      // One round starts each command once next to its own baseline, so a busy moment hits both.
      const line: string[] = [];
      for (const c of commands) {
        const baseline = await wallMs(['-e', '0']);
        const value = await wallMs([CUSTOS_BIN, ...c.args]);
        runs.get(c.name)?.push({ value, baseline });
        line.push(`${c.name} ${value.toFixed(0)} ms (node -e 0: ${baseline.toFixed(0)} ms)`);
      }
      ctx.log(`startup: round ${i + 1}/${STARTS}: ${line.join(', ')}`);
    }
    return commands.map(
      (c): Figure =>
        pairedFigure({
          section: 'startup',
          name: c.name,
          unit: 'ms',
          baselineName: 'node -e 0',
          runs: runs.get(c.name) ?? [],
          target: c.target,
          note: `spawn to exit, median of ${STARTS}`,
        }),
    );
  },
};

/** Runs `node ARGS` to completion; its wall time in ms. A failure is an error, not a figure. */
function wallMs(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = nowMs();
    const child = spawn(process.execPath, args, { env: childEnv({ CUSTOS_LOG_LEVEL: 'warn' }), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = nowMs() - start;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}
