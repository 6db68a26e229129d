/**
 * `custos detect`: run the detectors over files in batch (the same engine `custos serve` runs
 * live) and print the alerts, as JSON or as a table. A progress bar on stderr when it is a terminal.
 */
import type { Command } from 'commander';
import type { Alert } from '../detect/alert.ts';
import { aliasOf } from '../detect/alias.ts';
import { detectInWorker, type BatchProgress } from '../detect/batch.ts';
import { loadPlaces } from '../detect/places.ts';
import { InvalidInputError } from '../errors.ts';

interface DetectFlags {
  customers: string;
  employees: string;
  cases: string;
  events: string;
  json: boolean;
  threshold?: string;
  heapLimit?: string;
  places?: string;
}

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('run the detectors over customers, employees, cases and events files; print the alerts')
    .requiredOption('--customers <file>', 'customers.jsonl (canary and vip flags, country, region)')
    .requiredOption('--employees <file>', 'employees.jsonl (team, role, location, hiredAt, leftAt)')
    .requiredOption('--cases <file>', 'cases.jsonl (the purposes that justify access)')
    .requiredOption('--events <file>', 'events.jsonl (access events in time order)')
    .option('--json', 'print {"alerts":[…]} as JSON', false)
    .option('--threshold <n>', 'risk (0-100) at which an alert is raised', undefined)
    .option('--places <file>', 'your networks and where they are (JSONL or a JSON array of {"cidr","place","lat","lon"}): impossible travel is checked only with it', undefined)
    .option('--heap-limit <MiB>', 'MiB of heap detection may use (default: 512 plus twice the MiB of the customers, employees and cases files)', undefined)
    .action(async (flags: DetectFlags) => {
      const threshold = flags.threshold === undefined ? undefined : Number(flags.threshold);
      if (threshold !== undefined && !(Number.isFinite(threshold) && threshold > 0 && threshold <= 100)) {
        throw new InvalidInputError('--threshold must be a number above 0 and at most 100', { field: 'threshold' });
      }
      const heapLimitMiB = flags.heapLimit === undefined ? undefined : Number(flags.heapLimit);
      if (heapLimitMiB !== undefined && !(Number.isInteger(heapLimitMiB) && heapLimitMiB >= 16)) {
        throw new InvalidInputError('--heap-limit must be a whole number of MiB, 16 or more', { field: 'heap-limit' });
      }
      // Read here, before the worker starts: a bad file stops at once, naming its line and field.
      const places = flags.places === undefined ? undefined : loadPlaces(flags.places);
      const aliasKey = process.env.CUSTOS_ALIAS_KEY;
      const bar = process.stderr.isTTY ? progressBar() : undefined;
      const files = { customers: flags.customers, employees: flags.employees, cases: flags.cases, events: flags.events };
      const result = await detectInWorker(files, {
        ...(threshold !== undefined ? { threshold } : {}),
        ...(heapLimitMiB !== undefined ? { heapLimitMiB } : {}),
        ...(aliasKey ? { aliasKey } : {}),
        ...(places ? { places } : {}),
        ...(bar ? { onProgress: bar.update } : {}),
      });
      bar?.done();
      const alerts = [...result.alerts].sort((a, b) => a.detectedAt.localeCompare(b.detectedAt) || a.id.localeCompare(b.id));
      if (flags.json) process.stdout.write(`${JSON.stringify({ alerts: alerts.map(alertJson) })}\n`);
      else process.stdout.write(table(alerts, result.events, aliasKey));
    });
}

function alertJson(a: Alert) {
  return {
    id: a.id,
    employee: a.employee,
    score: a.score,
    severity: a.severity,
    detectedAt: a.detectedAt,
    firstEventAt: a.firstEventAt,
    detectors: a.detectors.map((d) => ({ name: d.name, score: d.score, evidence: d.evidence })),
    explanation: a.explanation,
  };
}

function table(alerts: readonly Alert[], events: number, aliasKey: string | undefined): string {
  const rows = alerts.map((a) => [a.detectedAt.replace('.000Z', 'Z'), aliasOf(a.employee, aliasKey), a.employee, a.severity, String(a.score), a.detectors.map((d) => `${d.name}(${d.score})`).join(' ')]);
  const head = ['detected at', 'alias', 'employee', 'severity', 'score', 'detectors'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  return `${[line(head), ...rows.map(line)].join('\n')}\n\n${alerts.length} alert${alerts.length === 1 ? '' : 's'} from ${events.toLocaleString('en-US')} events\n`;
}

function progressBar(): { update: (p: BatchProgress) => void; done: () => void } {
  let last = 0;
  const draw = (p: BatchProgress) => {
    const share = p.bytesTotal > 0 ? Math.min(1, p.bytesRead / p.bytesTotal) : 1;
    const filled = Math.round(share * 30);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${p.events.toLocaleString('en-US')} events, ${p.alerts} alerts`);
  };
  return {
    update: (p) => {
      const now = Date.now();
      if (now - last < 200 && p.bytesRead < p.bytesTotal) return;
      last = now;
      draw(p);
    },
    done: () => process.stderr.write('\n'),
  };
}
