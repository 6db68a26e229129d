/**
 * The breach-notification rules table: cited data files, one per jurisdiction (rules/jurisdictions/
 * XX.json or XX-YY.json), some sharing a regime (rules/regimes/GDPR.json for the EEA states, each
 * naming its own supervisory authority), and the data-element vocabulary (rules/data-elements.json)
 * that maps record fields to the elements laws name. Loaded and checked here once; the engine
 * (obligations.ts) trusts these types.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

/** When a deadline's clock starts. */
export type DeadlineFrom = 'awareness' | 'assessment' | 'individualNotice';

export type Deadline =
  | { kind: 'hours'; hours: number; from: DeadlineFrom; text: string }
  | { kind: 'calendarDays'; days: number; from: DeadlineFrom; text: string; whenYes?: Record<string, number> }
  | { kind: 'workingDays'; days: number; from: DeadlineFrom; text: string }
  | { kind: 'none'; text: string };

/** How a duty decides: a tree of tests, each answering yes, no or assess. */
export type Test =
  | { type: 'always'; id?: string; why: string }
  | { type: 'judgement'; id?: string; question: string }
  | { type: 'elements'; id?: string; anyOf: string[][]; label: string; cite: string }
  | { type: 'count'; id?: string; min: number; scope: 'jurisdiction' | 'incident'; label: string }
  | { type: 'kind'; id?: string; yes: string[]; no: string[]; question: string; label: string }
  | { type: 'any' | 'all'; id?: string; tests: Test[] };

export interface ReportField {
  id: string;
  cite: string;
  label: string;
  /** Which fact of the incident fills it (reports.ts); "todo" leaves it for the DPO. */
  fill: string;
}

export interface Duty {
  cite: string;
  quote: string;
  test: Test;
  deadline: Deadline;
  exemptIfEncrypted?: { cite: string; quote: string };
  /** A duty not in force before this date (YYYY-MM-DD) answers no for earlier incidents. */
  inForceFrom?: string;
  /** Days the law allows to assess before its clock starts (SG s. 26C, AU s. 26WH). */
  assessWithinDays?: number;
}

export interface AuthorityDuty extends Duty {
  id: string;
  name: string;
  stage?: string;
  report?: { title: string; fields: ReportField[] };
}

export interface JurisdictionRule {
  jurisdiction: string;
  name: string;
  version: string;
  reviewed: string;
  regime?: string;
  law: { title: string; short: string; url?: string };
  timezone: string;
  /** date-holidays code: "BR", or country.state as "US.CA". */
  holidays?: string;
  inForceFrom?: string;
  authorities: AuthorityDuty[];
  individuals?: Duty;
  records?: { cite: string; quote: string; retentionMonths?: number };
  /** GDPR Art. 56 lead-authority routing, from the regime. */
  oneStopShop?: { cite: string; quote: string; nonEu: string };
  file: string;
}

export interface ElementVocabulary {
  version: string;
  labels: Map<string, string>;
  /** Normalised field name → element. */
  byField: Map<string, string>;
}

export interface RulesTable {
  dir: string;
  rules: Map<string, JurisdictionRule>;
  elements: ElementVocabulary;
  /** The newest `version` of any file: what the output cites as the table's version. */
  version: string;
}

const CODE_RE = /^[A-Z]{2}(-[A-Z0-9]{1,3})?$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export function normaliseFieldName(field: string): string {
  return field.toLowerCase().replace(/[_\-\s]/g, '');
}

/** Reads and checks the whole table; a bad file is a ConfigError naming the file and the field. */
export function loadRules(dir: string): RulesTable {
  const elements = loadElements(join(dir, 'data-elements.json'));
  const regimes = new Map<string, Record<string, unknown>>();
  const regimeDir = join(dir, 'regimes');
  for (const name of listJson(regimeDir, false)) {
    const raw = readJson(join(regimeDir, name));
    regimes.set(name.replace(/\.json$/, ''), raw);
  }
  const rules = new Map<string, JurisdictionRule>();
  const jurisdictionDir = join(dir, 'jurisdictions');
  let version = elements.version;
  for (const name of listJson(jurisdictionDir, true)) {
    const file = join(jurisdictionDir, name);
    const rule = parseJurisdiction(readJson(file), file, regimes, elements);
    if (rule.jurisdiction !== name.replace(/\.json$/, '')) bad(file, 'jurisdiction', `must match the file name (${name})`);
    rules.set(rule.jurisdiction, rule);
    if (rule.version > version) version = rule.version;
  }
  return { dir, rules, elements, version };
}

function listJson(dir: string, required: boolean): string[] {
  try {
    return readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError(`rules: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`rules: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (!isObject(value)) throw new Error('not a JSON object');
    return value;
  } catch (err) {
    throw new ConfigError(`rules: ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function bad(file: string, field: string, message: string): never {
  throw new ConfigError(`rules: ${file}: ${field} ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Record<string, unknown>, key: string, file: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.trim() === '') bad(file, `${path}${key}`, 'must be a non-empty string');
  return v;
}

function optStr(o: Record<string, unknown>, key: string, file: string, path: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, file, path);
}

function date(o: Record<string, unknown>, key: string, file: string, path: string): string | undefined {
  const v = optStr(o, key, file, path);
  if (v !== undefined && !DATE_RE.test(v)) bad(file, `${path}${key}`, 'must be a date YYYY-MM-DD');
  return v;
}

function loadElements(file: string): ElementVocabulary {
  const raw = readJson(file);
  const version = str(raw, 'version', file, '');
  if (!isObject(raw.elements)) bad(file, 'elements', 'must be an object');
  const labels = new Map<string, string>();
  const byField = new Map<string, string>();
  for (const [element, def] of Object.entries(raw.elements)) {
    if (!isObject(def)) bad(file, `elements.${element}`, 'must be an object');
    labels.set(element, str(def, 'label', file, `elements.${element}.`));
    if (!Array.isArray(def.fields)) bad(file, `elements.${element}.fields`, 'must be an array of field names');
    for (const field of def.fields) {
      if (typeof field !== 'string') bad(file, `elements.${element}.fields`, 'must hold strings');
      const key = normaliseFieldName(field);
      const other = byField.get(key);
      if (other && other !== element) bad(file, `elements.${element}.fields`, `"${field}" is already listed under ${other}`);
      byField.set(key, element);
    }
  }
  return { version, labels, byField };
}

function parseJurisdiction(
  raw: Record<string, unknown>,
  file: string,
  regimes: Map<string, Record<string, unknown>>,
  elements: ElementVocabulary,
): JurisdictionRule {
  const regimeName = optStr(raw, 'regime', file, '');
  let base: Record<string, unknown> = {};
  if (regimeName !== undefined) {
    const regime = regimes.get(regimeName);
    if (!regime) bad(file, 'regime', `names rules/regimes/${regimeName}.json, which does not exist`);
    base = regime;
  }
  // A jurisdiction's own keys win over its regime's; its `authority` names the regime's authority.
  const o: Record<string, unknown> = { ...base, ...raw };
  const jurisdiction = str(o, 'jurisdiction', file, '');
  if (!CODE_RE.test(jurisdiction)) bad(file, 'jurisdiction', 'must be an ISO 3166-1 alpha-2 or ISO 3166-2 code such as "FR" or "US-CA"');
  const timezone = str(o, 'timezone', file, '');
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    bad(file, 'timezone', `"${timezone}" is not an IANA time zone`);
  }
  if (!isObject(o.law)) bad(file, 'law', 'must be an object {title, short, url?}');
  const law = { title: str(o.law, 'title', file, 'law.'), short: str(o.law, 'short', file, 'law.'), ...(o.law.url ? { url: str(o.law, 'url', file, 'law.') } : {}) };
  const stateElements = isObject(o.elements) ? o.elements : undefined;
  const ctx: TestContext = { file, elements, stateElements };

  if (!Array.isArray(o.authorities)) bad(file, 'authorities', 'must be an array');
  const authorityName = isObject(raw.authority) ? str(raw.authority, 'name', file, 'authority.') : undefined;
  const authorities = o.authorities.map((a, i) => {
    const path = `authorities[${i}].`;
    if (!isObject(a)) bad(file, `authorities[${i}]`, 'must be an object');
    const name = typeof a.name === 'string' ? a.name : authorityName;
    if (!name) bad(file, `${path}name`, 'must be given here or as the jurisdiction\'s authority.name');
    const report = a.report === undefined ? undefined : parseReport(a.report, file, `${path}report.`);
    return {
      ...parseDuty(a, ctx, path),
      id: str(a, 'id', file, path),
      name,
      ...(a.stage ? { stage: str(a, 'stage', file, path) } : {}),
      ...(report ? { report } : {}),
    };
  });
  const individuals = o.individuals === undefined ? undefined : isObject(o.individuals) ? parseDuty(o.individuals, ctx, 'individuals.') : bad(file, 'individuals', 'must be an object');
  let records: JurisdictionRule['records'];
  if (o.records !== undefined) {
    if (!isObject(o.records)) bad(file, 'records', 'must be an object');
    const months = o.records.retentionMonths;
    if (months !== undefined && (!Number.isInteger(months) || (months as number) <= 0)) bad(file, 'records.retentionMonths', 'must be a whole number of months');
    records = { cite: str(o.records, 'cite', file, 'records.'), quote: str(o.records, 'quote', file, 'records.'), ...(months !== undefined ? { retentionMonths: months as number } : {}) };
  }
  let oneStopShop: JurisdictionRule['oneStopShop'];
  if (isObject(o.oneStopShop)) {
    oneStopShop = { cite: str(o.oneStopShop, 'cite', file, 'oneStopShop.'), quote: str(o.oneStopShop, 'quote', file, 'oneStopShop.'), nonEu: str(o.oneStopShop, 'nonEu', file, 'oneStopShop.') };
  }
  const version = date(o, 'version', file, '') ?? bad(file, 'version', 'is required (YYYY-MM-DD)');
  const reviewed = date(o, 'reviewed', file, '') ?? bad(file, 'reviewed', 'is required (YYYY-MM-DD)');
  const inForceFrom = date(o, 'inForceFrom', file, '');
  return {
    jurisdiction,
    name: str(o, 'name', file, ''),
    version,
    reviewed,
    ...(regimeName ? { regime: regimeName } : {}),
    law,
    timezone,
    ...(o.holidays ? { holidays: str(o, 'holidays', file, '') } : {}),
    ...(inForceFrom ? { inForceFrom } : {}),
    authorities,
    ...(individuals ? { individuals } : {}),
    ...(records ? { records } : {}),
    ...(oneStopShop ? { oneStopShop } : {}),
    file,
  };
}

interface TestContext {
  file: string;
  elements: ElementVocabulary;
  stateElements: Record<string, unknown> | undefined;
}

function parseDuty(o: Record<string, unknown>, ctx: TestContext, path: string): Duty {
  const { file } = ctx;
  if (!isObject(o.test)) bad(file, `${path}test`, 'must be an object');
  if (!isObject(o.deadline)) bad(file, `${path}deadline`, 'must be an object');
  const exempt = o.exemptIfEncrypted;
  const inForceFrom = date(o, 'inForceFrom', file, path);
  const assessWithin = (o.deadline as Record<string, unknown>).assessWithinDays;
  return {
    cite: str(o, 'cite', file, path),
    quote: str(o, 'quote', file, path),
    test: parseTest(o.test, ctx, `${path}test`),
    deadline: parseDeadline(o.deadline, file, `${path}deadline.`),
    ...(isObject(exempt) ? { exemptIfEncrypted: { cite: str(exempt, 'cite', file, `${path}exemptIfEncrypted.`), quote: str(exempt, 'quote', file, `${path}exemptIfEncrypted.`) } } : {}),
    ...(inForceFrom ? { inForceFrom } : {}),
    ...(typeof assessWithin === 'number' ? { assessWithinDays: assessWithin } : {}),
  };
}

function parseReport(raw: unknown, file: string, path: string): { title: string; fields: ReportField[] } {
  if (!isObject(raw)) bad(file, path.replace(/\.$/, ''), 'must be an object {title, fields}');
  if (!Array.isArray(raw.fields) || raw.fields.length === 0) bad(file, `${path}fields`, 'must be a non-empty array');
  const fields = raw.fields.map((f, i) => {
    const at = `${path}fields[${i}].`;
    if (!isObject(f)) bad(file, `${path}fields[${i}]`, 'must be an object {id, cite, label, fill}');
    return { id: str(f, 'id', file, at), cite: str(f, 'cite', file, at), label: str(f, 'label', file, at), fill: str(f, 'fill', file, at) };
  });
  return { title: str(raw, 'title', file, path), fields };
}

function positive(o: Record<string, unknown>, key: string, file: string, path: string): number {
  const v = o[key];
  if (!Number.isInteger(v) || (v as number) <= 0) bad(file, `${path}${key}`, 'must be a whole number above 0');
  return v as number;
}

function parseDeadline(o: Record<string, unknown>, file: string, path: string): Deadline {
  const from = (o.from ?? 'awareness') as DeadlineFrom;
  if (!['awareness', 'assessment', 'individualNotice'].includes(from)) bad(file, `${path}from`, 'must be awareness, assessment or individualNotice');
  if (o.none !== undefined) return { kind: 'none', text: str(o, 'none', file, path) };
  const text = str(o, 'text', file, path);
  if (o.hours !== undefined) return { kind: 'hours', hours: positive(o, 'hours', file, path), from, text };
  if (o.workingDays !== undefined) return { kind: 'workingDays', days: positive(o, 'workingDays', file, path), from, text };
  if (o.calendarDays !== undefined) {
    let whenYes: Record<string, number> | undefined;
    if (o.whenYes !== undefined) {
      if (!isObject(o.whenYes)) bad(file, `${path}whenYes`, 'must map a test id to a number of days');
      whenYes = {};
      for (const key of Object.keys(o.whenYes)) whenYes[key] = positive(o.whenYes, key, file, `${path}whenYes.`);
    }
    return { kind: 'calendarDays', days: positive(o, 'calendarDays', file, path), from, text, ...(whenYes ? { whenYes } : {}) };
  }
  bad(file, path.replace(/\.$/, ''), 'must give one of hours, calendarDays, workingDays or none');
}

function parseTest(raw: unknown, ctx: TestContext, path: string): Test {
  const { file } = ctx;
  if (!isObject(raw)) bad(file, path, 'must be an object');
  const id = raw.id === undefined ? undefined : str(raw, 'id', file, `${path}.`);
  const withId = <T extends object>(t: T): T & { id?: string } => (id ? { ...t, id } : t);
  if (raw.any !== undefined || raw.all !== undefined) {
    const type = raw.any !== undefined ? 'any' : 'all';
    const list = raw[type];
    if (!Array.isArray(list) || list.length === 0) bad(file, `${path}.${type}`, 'must be a non-empty array of tests');
    return withId({ type, tests: list.map((t, i) => parseTest(t, ctx, `${path}.${type}[${i}]`)) });
  }
  if (raw.always !== undefined) return withId({ type: 'always' as const, why: str(raw, 'always', file, `${path}.`) });
  if (raw.judgement !== undefined) return withId({ type: 'judgement' as const, question: str(raw, 'judgement', file, `${path}.`) });
  if (raw.count !== undefined) {
    const scope = (raw.scope ?? 'jurisdiction') as 'jurisdiction' | 'incident';
    if (scope !== 'jurisdiction' && scope !== 'incident') bad(file, `${path}.scope`, 'must be jurisdiction or incident');
    return withId({ type: 'count' as const, min: positive(raw, 'count', file, `${path}.`), scope, label: str(raw, 'label', file, `${path}.`) });
  }
  if (raw.kind !== undefined) {
    if (!isObject(raw.kind) || !Array.isArray(raw.kind.yes) || !Array.isArray(raw.kind.no)) bad(file, `${path}.kind`, 'must be {yes: [...], no: [...]}');
    return withId({
      type: 'kind' as const,
      yes: raw.kind.yes.map(String),
      no: raw.kind.no.map(String),
      question: str(raw, 'question', file, `${path}.`),
      label: str(raw, 'label', file, `${path}.`),
    });
  }
  if (raw.elements !== undefined) {
    // "state": the jurisdiction's own statutory definition, given once at the top of its file.
    const def = raw.elements === 'state' ? ctx.stateElements : raw;
    if (!def) bad(file, `${path}.elements`, '"state" needs the file\'s top-level elements {cite, anyOf, label}');
    const anyOf = raw.elements === 'state' ? def.anyOf : def.elements;
    if (!Array.isArray(anyOf) || anyOf.length === 0) bad(file, `${path}.elements`, 'must be a non-empty array of element combinations');
    const combos = anyOf.map((combo, i) => {
      if (!Array.isArray(combo) || combo.length === 0) bad(file, `${path}.elements[${i}]`, 'must be a non-empty array of element names');
      for (const e of combo) if (!ctx.elements.labels.has(e as string)) bad(file, `${path}.elements[${i}]`, `names "${String(e)}", which rules/data-elements.json does not define`);
      return combo as string[];
    });
    const cite = typeof def.cite === 'string' ? def.cite : '';
    return withId({ type: 'elements' as const, anyOf: combos, label: str(def, 'label', file, `${path}.`), cite });
  }
  bad(file, path, 'must be one of {always}, {judgement}, {elements}, {count}, {kind}, {any: [...]}, {all: [...]}');
}
