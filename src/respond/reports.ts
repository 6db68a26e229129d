/**
 * Draft reports for the authorities an incident must (or may have to) be reported to: the fields
 * each authority's law asks for, in its order and with its citations (rules table `report`),
 * filled from the incident's facts where Custos knows them (counts by country, region and field,
 * dates, the controller and its DPO) and marked [TO COMPLETE] where a person must write them.
 * Markdown for people, JSON for forms and for the incidents module.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.ts';
import type { EntitiesConfig, LegalEntity } from './entities.ts';
import type { ObligationsIncident } from './incident-input.ts';
import type { AuthorityLine, ObligationLine, Obligations } from './obligations.ts';
import type { ReportField, RulesTable } from './rules.ts';

export const TO_COMPLETE = '[TO COMPLETE]';

export interface ReportDraft {
  jurisdiction: string;
  authority: string;
  authorityId: string;
  stage?: string;
  title: string;
  law: string;
  required: 'yes' | 'assess';
  deadline: string | null;
  deadlineRule: string;
  basis: string;
  controller: { name: string; address: string | null; dpo: string | null };
  incident: { id: string; kind: string; awareAt: string; recipient: string; encrypted: boolean; window: { from: string; to: string } | null };
  counts: { total: number; byCountry: Record<string, number>; byRegion: Record<string, number>; byField: Record<string, number> };
  fields: Array<{ id: string; cite: string; label: string; value: string; complete: boolean }>;
  rulesVersion: string | null;
}

/** What every authority asks, when the rules table gives no form of its own. */
const GENERIC_FIELDS: ReportField[] = [
  { id: 'circumstances', cite: '—', label: 'What happened, and when', fill: 'circumstances' },
  { id: 'period', cite: '—', label: 'When the breach occurred', fill: 'period' },
  { id: 'fields', cite: '—', label: 'The personal data concerned', fill: 'fields' },
  { id: 'count', cite: '—', label: 'The number of people affected', fill: 'count' },
  { id: 'consequences', cite: '—', label: 'Likely consequences', fill: 'consequences' },
  { id: 'measures', cite: '—', label: 'Measures taken or proposed', fill: 'measures' },
  { id: 'individuals', cite: '—', label: 'Notification of the people affected', fill: 'individuals' },
  { id: 'contact', cite: '—', label: 'Contact', fill: 'dpo' },
];

/** What a recipient of each kind of field should watch for (plain words, for drafts to confirm). */
const RISKS: Record<string, string> = {
  email: 'phishing e-mails that quote their address and pretend to come from the company or a seller',
  phone: 'scam calls and text messages, including fake seller or delivery contacts',
  name: 'more convincing, personalised phishing that uses their name',
  address: 'unsolicited mail and fraud attempts that use their postal address',
  password: 'takeover of their account and of other accounts sharing the password',
};

export interface ReportOptions {
  rules: RulesTable;
  entities?: EntitiesConfig;
}

/** One draft per authority line that is required or must be assessed (a `no` needs no report). */
export function authorityReports(incident: ObligationsIncident, obligations: Obligations, options: ReportOptions): ReportDraft[] {
  const drafts: ReportDraft[] = [];
  for (const line of obligations.authorities) {
    if (line.required === 'no' || !line.authorityId) continue;
    const rule = options.rules.rules.get(line.jurisdiction);
    const duty = rule?.authorities.find((a) => a.id === line.authorityId);
    const entity = options.entities ? entityForLine(options.entities, line.jurisdiction) : undefined;
    // A lead authority's line covers other countries' people: their individuals lines say what they are told.
    const individuals = obligations.individuals.filter((i) => i.jurisdiction === line.jurisdiction || line.byCountry[i.jurisdiction] || line.byRegion[i.jurisdiction]);
    const fields = (duty?.report?.fields ?? GENERIC_FIELDS).map((f) => {
      const value = fill(f.fill, line, incident, entity, individuals);
      return { id: f.id, cite: f.cite, label: f.label, value, complete: !value.includes(TO_COMPLETE) && !value.includes('[CONFIRM]') };
    });
    drafts.push({
      jurisdiction: line.jurisdiction,
      authority: line.authority,
      authorityId: line.authorityId,
      ...(line.stage ? { stage: line.stage } : {}),
      title: duty?.report?.title ?? `Breach report to ${line.authority} (${line.cite})`,
      law: rule?.law.title ?? line.law,
      required: line.required,
      deadline: line.deadline,
      deadlineRule: line.deadlineRule,
      basis: line.basis,
      controller: entity
        ? { name: entity.name, address: entity.address, dpo: dpoOf(entity) }
        : { name: incident.controller.name, address: null, dpo: null },
      incident: { id: incident.id, kind: incident.kind, awareAt: incident.awareAt, recipient: incident.recipient, encrypted: incident.encrypted, window: incident.window ?? null },
      counts: { total: line.affected, byCountry: line.byCountry, byRegion: line.byRegion, byField: line.byField },
      fields,
      rulesVersion: line.rulesVersion,
    });
  }
  return drafts;
}

/** The entity that speaks to this authority: the one it leads for, else the one holding accounts there. */
function entityForLine(entities: EntitiesConfig, jurisdiction: string): LegalEntity {
  for (const e of entities.entities.values()) if (e.leadAuthority.jurisdiction === jurisdiction) return e;
  const country = jurisdiction.slice(0, 2);
  return entities.entityFor({ id: '', country, ...(jurisdiction.length > 2 ? { region: jurisdiction } : {}) }).entity;
}

function dpoOf(entity: LegalEntity): string {
  return `${entity.dpo.name}, ${entity.dpo.email}${entity.dpo.phone ? `, ${entity.dpo.phone}` : ''} — ${entity.name}, ${entity.address}`;
}

function list(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, n]) => `${k} (${n})`)
    .join(', ');
}

function fill(what: string, line: AuthorityLine, incident: ObligationsIncident, entity: LegalEntity | undefined, individuals: ObligationLine[]): string {
  const fields = Object.keys(line.byField);
  const records = Object.values(line.byField).reduce((a, b) => a + b, 0);
  switch (what) {
    case 'nature':
      return `${circumstances(incident)} Data subjects concerned: ${line.affected} (by country: ${list(line.byCountry)}; by region: ${list(line.byRegion)}). Categories of personal data: ${list(line.byField)}; ${records} personal data records (person × field) in all. Only these fields were disclosed; no other account data was.`;
    case 'circumstances':
      return `${circumstances(incident)} ${TO_COMPLETE} how it was detected and how it happened.`;
    case 'period':
      return incident.window ? `From ${incident.window.from} to ${incident.window.to}; the controller became aware at ${incident.awareAt}.` : `${TO_COMPLETE} (not known yet; the blast radius gives the first and last access). The controller became aware at ${incident.awareAt}.`;
    case 'fields':
      return `${list(line.byField)} (people per field). No other personal data of theirs was disclosed.`;
    case 'count':
      return `${line.affected} (by country: ${list(line.byCountry)}; by region: ${list(line.byRegion)}).`;
    case 'dpo':
      return entity ? dpoOf(entity) : `${incident.controller.name}: ${TO_COMPLETE} DPO name, e-mail and phone (configure config/entities.json).`;
    case 'consequences': {
      const risks = fields.map((f) => RISKS[f.toLowerCase()]).filter(Boolean);
      return `[CONFIRM] ${risks.length ? `Risks for the people concerned: ${risks.join('; ')}.` : ''} ${TO_COMPLETE} any further consequences.`.replace(/\s+/g, ' ').trim();
    }
    case 'advice': {
      const risks = fields.map((f) => RISKS[f.toLowerCase()]).filter(Boolean);
      return `[CONFIRM] Be wary of ${risks.length ? risks.join('; ') : 'unexpected messages about their account'}; never give a password or payment details in reply; contact the company only through its own website or app.`;
    }
    case 'measures':
      return `${incident.kind === 'insider' ? '[CONFIRM] The access of the employee(s) involved was cut off at once and their existing sessions and tokens revoked; the matter was referred to law enforcement. ' : ''}${TO_COMPLETE} further measures taken or proposed, and how their effects are mitigated.`;
    case 'individuals':
      if (!individuals.length) return TO_COMPLETE;
    {
      // Member states under one law say the same thing: once, for all of them.
      const byText = new Map<string, string[]>();
      for (const i of individuals) {
        const text = individualNotice(i, entity?.name ?? incident.controller.name);
        byText.set(text, [...(byText.get(text) ?? []), i.jurisdiction]);
      }
      return [...byText].map(([text, places]) => `${places.join(', ')}: ${text}`).join(' ');
    }
    case 'delay':
      return line.deadline ? `Only if this is sent after ${line.deadline}: ${TO_COMPLETE} the reasons for the delay.` : 'Not applicable.';
    case 'safeguards':
      return incident.encrypted
        ? `The disclosed data was encrypted and its key was not disclosed. ${TO_COMPLETE} the algorithm and key management.`
        : `The data was disclosed in clear (it was revealed to, or exported by, the person who disclosed it). ${TO_COMPLETE} access controls in place: field-level encryption at rest, purpose-bound reveals, the tamper-evident access ledger.`;
    case 'cause':
      return `Incident kind: ${incident.kind}; recipient: ${incident.recipient}. ${TO_COMPLETE} findings about who or what caused it.`;
    case 'lawEnforcement':
      return TO_COMPLETE;
    default:
      return TO_COMPLETE;
  }
}

function individualNotice(line: ObligationLine, speaker: string): string {
  if (line.required === 'yes') return `the people affected are to be notified individually, in their language, by e-mail from ${speaker}${line.deadline ? ` by ${line.deadline}` : ` (${line.deadlineRule})`} (${line.cite}).`;
  if (line.required === 'assess') return `${TO_COMPLETE} whether the people affected are notified (${line.cite}${line.question ? `: ${line.question.split('?')[0]}?` : ''}).`;
  return `not required: ${line.reason}.`;
}

function circumstances(incident: ObligationsIncident): string {
  const what = incident.description ?? `A ${incident.kind} incident: personal data was disclosed to ${incident.recipient === 'public' ? 'the public' : incident.recipient === 'third-party' ? 'a third party' : 'an unknown recipient'}.`;
  return what.endsWith('.') ? what : `${what}.`;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function reportMarkdown(d: ReportDraft): string {
  const out: string[] = [];
  out.push(`# ${d.title}`, '', `**DRAFT for review** — incident ${d.incident.id}; fields marked ${TO_COMPLETE} or [CONFIRM] need a person.`, '');
  out.push('| | |', '|---|---|');
  out.push(`| Authority | ${escapeCell(d.authority)} (${d.jurisdiction}) |`);
  out.push(`| Law | ${escapeCell(d.law)} |`);
  out.push(`| Required | ${d.required}${d.required === 'assess' ? ' (a judgement is needed: see Basis)' : ''} |`);
  out.push(`| Deadline | ${d.deadline ?? '—'} (${escapeCell(d.deadlineRule)}) |`);
  out.push(`| Controller | ${escapeCell(d.controller.name)}${d.controller.address ? `, ${escapeCell(d.controller.address)}` : ''} |`);
  out.push(`| Became aware | ${d.incident.awareAt} |`);
  out.push(`| People affected | ${d.counts.total} |`, '');
  for (const f of d.fields) out.push(`## ${f.cite === '—' ? '' : `${f.cite}: `}${f.label}`, '', f.value, '');
  out.push('## People affected by country and region', '', '| Country | Region | People |', '|---|---|---|');
  for (const [region, n] of Object.entries(d.counts.byRegion)) out.push(`| ${region.slice(0, 2)} | ${region.length > 2 ? region : '—'} | ${n} |`);
  out.push('', '## Fields disclosed', '', '| Field | People |', '|---|---|');
  for (const [field, n] of Object.entries(d.counts.byField)) out.push(`| ${escapeCell(field)} | ${n} |`);
  out.push('', '## Basis', '', d.basis, '', `Rules table version ${d.rulesVersion ?? '—'}.`, '');
  return out.join('\n');
}

/** Writes DIR/<jurisdiction>-<authority>.md and .json for each draft; returns the paths written. */
export async function writeAuthorityReports(dir: string, incident: ObligationsIncident, obligations: Obligations, options: ReportOptions): Promise<string[]> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new InvalidInputError(`--reports ${dir}: cannot create it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { field: 'reports' });
  }
  const written: string[] = [];
  for (const draft of authorityReports(incident, obligations, options)) {
    const base = join(dir, `${draft.jurisdiction}-${draft.authorityId}`);
    await writeFile(`${base}.md`, reportMarkdown(draft));
    await writeFile(`${base}.json`, `${JSON.stringify(draft, null, 2)}\n`);
    written.push(`${base}.md`, `${base}.json`);
  }
  return written;
}
