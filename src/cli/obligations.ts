/**
 * `custos obligations --incident FILE [--json] [--reports DIR]`: who must be told of a breach, by
 * when and why, from the cited rules table; and, with --reports, a draft report for each
 * authority with a duty. Reads only the incident file and the rules: no store, no PII.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.ts';
import { InvalidInputError } from '../errors.ts';
import { parseObligationsIncidentText } from '../respond/incident-input.ts';
import { obligationsFor, type Obligations, type ObligationLine } from '../respond/obligations.ts';
import { loadEntities } from '../respond/entities.ts';
import { loadRules } from '../respond/rules.ts';

interface ObligationsFlags {
  incident: string;
  json?: boolean;
  rules?: string;
  reports?: string;
  entities?: string;
}

export function registerObligations(program: Command): void {
  program
    .command('obligations')
    .description('who must be told of a breach, by when and why (cited rules per jurisdiction); draft authority reports')
    .requiredOption('--incident <file>', 'the incident as JSON: {id, kind, awareAt, recipient, controller, affected, encrypted}')
    .option('--json', 'print {authorities, individuals, records} as JSON')
    .option('--rules <dir>', 'the rules table (default: the rules/ shipped with Custos)')
    .option('--reports <dir>', 'also write a draft report (Markdown and JSON) for each authority with a duty')
    .option('--entities <file>', 'legal entities: each person\'s controller is the entity holding their account (default for reports: CUSTOS_ENTITIES or config/entities.json)')
    .action(async (flags: ObligationsFlags) => {
      const config = loadConfig();
      const text = await readIncident(flags.incident);
      const incident = parseObligationsIncidentText(text, flags.incident);
      const rules = loadRules(flags.rules ? resolve(flags.rules) : config.rulesDir);
      // Named explicitly, the entities also decide each person's controller (GDPR lead authority);
      // otherwise the incident's controller is everyone's and the entities only sign the reports.
      const entities = flags.entities ? loadEntities(resolve(flags.entities)) : undefined;
      const result = obligationsFor(incident, { rules, ...(entities ? { entities } : {}) });
      if (flags.reports) {
        const { writeAuthorityReports } = await import('../respond/reports.ts');
        const written = await writeAuthorityReports(flags.reports, incident, result, { rules, entities: entities ?? loadEntities(config.entitiesFile) });
        // Two files per draft: Markdown and JSON.
        if (!flags.json) process.stdout.write(`reports: ${written.length / 2} draft(s), Markdown and JSON, in ${flags.reports}\n`);
      }
      process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : renderText(result));
    });
}

async function readIncident(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`--incident ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file: path, field: 'incident' });
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function deadlineCell(line: ObligationLine): string {
  if (line.deadline) return line.deadline;
  if (line.required === 'no') return '—';
  return `none fixed: ${line.deadlineRule || 'ask counsel'}`.slice(0, 48);
}

function explanation(line: ObligationLine): string {
  const why = line.required === 'assess' ? `ASSESS: ${line.question}` : line.reason;
  return `    ${line.jurisdiction}: ${line.cite ? `${line.cite} — ` : ''}${why}`;
}

function renderText(o: Obligations): string {
  const out: string[] = [];
  out.push(`Incident ${o.incident}: aware at ${o.awareAt}; controller ${o.controller}; rules table ${o.rulesVersion}`);
  out.push('', 'AUTHORITIES');
  out.push(
    table([
      ['JURISDICTION', 'REQUIRED', 'DEADLINE', 'AFFECTED', 'AUTHORITY'],
      ...o.authorities.map((l) => [l.jurisdiction, l.required, deadlineCell(l), String(l.affected), l.authority ?? '(no rule)']),
    ]),
  );
  out.push('', ...o.authorities.map(explanation));
  out.push('', 'INDIVIDUALS');
  out.push(
    table([
      ['JURISDICTION', 'REQUIRED', 'DEADLINE', 'AFFECTED'],
      ...o.individuals.map((l) => [l.jurisdiction, l.required, deadlineCell(l), String(l.affected)]),
    ]),
  );
  out.push('', ...o.individuals.map(explanation));
  if (o.records.length) {
    out.push('', 'RECORDS TO KEEP');
    out.push(...o.records.map((r) => `    ${r.jurisdiction}: ${r.basis}`));
  }
  return `${out.join('\n')}\n`;
}
