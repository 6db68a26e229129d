/**
 * The incident an obligations answer is computed for, as a file gives it (`custos obligations
 * --incident FILE`) or as the incidents module builds it from its own data:
 * {"id","kind","awareAt","recipient","controller":{"name","country"},"affected":[{"customer",
 * "country","region"?,"fields":[...]}],"encrypted"}. Errors name the field and, for a file, the
 * line of the JSON text where it is.
 */
import { InvalidInputError } from '../errors.ts';
import { checkId, checkTime, type Where } from '../model.ts';
import type { CustomerExposure } from './blast-radius.ts';

export const RECIPIENTS = ['third-party', 'public', 'unknown'] as const;
export type Recipient = (typeof RECIPIENTS)[number];

export interface AffectedPerson {
  customer: string;
  country: string;
  region?: string;
  /** The PII fields disclosed for this person (record field names, e.g. "email", "phone"). */
  fields: string[];
  /** The legal entity holding the account, when the caller knows it (entities.ts). */
  entity?: string;
}

export interface IncidentController {
  name: string;
  country: string;
  /** The lead supervisory authority's jurisdiction under GDPR Art. 56, when not `country`. */
  lead?: string;
}

export interface ObligationsIncident {
  id: string;
  /** What happened: insider, theft, attack, accidental, error, lost-device, or another word. */
  kind: string;
  /** When the controller became aware: every clock starts here (RFC 3339, normalised to UTC). */
  awareAt: string;
  /** When the controller concluded its assessment (SG s. 26D counts from it); defaults to awareAt. */
  assessedAt?: string;
  recipient: Recipient;
  controller: IncidentController;
  affected: AffectedPerson[];
  /** Whether the disclosed data was encrypted and the key was not disclosed with it. */
  encrypted: boolean;
  /** The period during which the breach occurred, when known. */
  window?: { from: string; to: string };
  /** A short description for the authority reports. */
  description?: string;
}

const COUNTRY_RE = /^[A-Z]{2}$/;
const REGION_RE = /^([A-Z]{2})-[A-Z0-9]{1,3}$/;

type Path = Array<string | number>;

function pathName(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * Checks an incident already parsed from JSON. `lineOf` maps a field's path to its line in the
 * source text, when there is one.
 */
export function parseObligationsIncident(raw: unknown, file?: string, lineOf?: (path: Path) => number | undefined): ObligationsIncident {
  const where = (path: Path): Where => {
    if (file === undefined) return {};
    // The field's own line, else its parent object's (a missing field has no line of its own).
    for (let n = path.length; n >= 0; n--) {
      const line = lineOf?.(path.slice(0, n));
      if (line !== undefined) return { file, line };
    }
    return { file };
  };
  const fail = (path: Path, message: string): never => {
    const w = where(path);
    const at = w.file ? `${w.file}${w.line !== undefined ? `:${w.line}` : ''}: ` : '';
    throw new InvalidInputError(`${at}field "${pathName(path)}": ${message}`, { ...w, field: pathName(path) });
  };
  const object = (v: unknown, path: Path): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(path, 'must be a JSON object');
  const string = (o: Record<string, unknown>, key: string, path: Path): string => {
    const v = o[key];
    if (v === undefined || v === null || v === '') return fail([...path, key], 'is required');
    if (typeof v !== 'string') return fail([...path, key], `must be a string, got ${Array.isArray(v) ? 'array' : typeof v}`);
    return v;
  };
  const time = (o: Record<string, unknown>, key: string, path: Path): string => checkTime(string(o, key, path), pathName([...path, key]), where([...path, key]));
  const country = (v: string, path: Path): string => {
    const c = v.toUpperCase();
    return COUNTRY_RE.test(c) ? c : fail(path, 'must be an ISO 3166-1 alpha-2 code such as "IT"');
  };

  const o = object(raw, []);
  const id = checkId(string(o, 'id', []), 'id', where(['id']));
  const kind = string(o, 'kind', []);
  const awareAt = time(o, 'awareAt', []);
  const assessedAt = o.assessedAt === undefined ? undefined : time(o, 'assessedAt', []);
  if (assessedAt !== undefined && assessedAt < awareAt) fail(['assessedAt'], 'must not be before awareAt');
  const recipient = string(o, 'recipient', []);
  if (!(RECIPIENTS as readonly string[]).includes(recipient)) fail(['recipient'], `must be one of ${RECIPIENTS.join(', ')}`);
  if (typeof o.encrypted !== 'boolean') fail(['encrypted'], 'is required: true or false (was the disclosed data encrypted, its key kept safe?)');

  const c = object(o.controller, ['controller']);
  const controller: IncidentController = {
    name: string(c, 'name', ['controller']),
    country: country(string(c, 'country', ['controller']), ['controller', 'country']),
    ...(c.lead !== undefined ? { lead: country(string(c, 'lead', ['controller']), ['controller', 'lead']) } : {}),
  };

  if (!Array.isArray(o.affected)) fail(['affected'], 'must be an array of {customer, country, region?, fields}');
  const affected = (o.affected as unknown[]).map((entry, i): AffectedPerson => {
    const path: Path = ['affected', i];
    const a = object(entry, path);
    const customer = checkId(string(a, 'customer', path), pathName([...path, 'customer']), where([...path, 'customer']));
    const personCountry = country(string(a, 'country', path), [...path, 'country']);
    let region: string | undefined;
    if (a.region !== undefined && a.region !== null && a.region !== '') {
      region = string(a, 'region', path).toUpperCase();
      const m = REGION_RE.exec(region);
      if (!m) return fail([...path, 'region'], 'must be an ISO 3166-2 code such as "US-CA"');
      if (m[1] !== personCountry) fail([...path, 'region'], `must be a subdivision of ${personCountry}`);
    }
    if (!Array.isArray(a.fields) || a.fields.length === 0) fail([...path, 'fields'], 'must be a non-empty array of field names such as ["email", "phone"]');
    const fields = (a.fields as unknown[]).map((f, j) => (typeof f === 'string' && f !== '' ? f : fail([...path, 'fields', j], 'must be a field name')));
    const entity = a.entity === undefined ? undefined : string(a, 'entity', path);
    return { customer, country: personCountry, ...(region ? { region } : {}), fields: [...new Set(fields)], ...(entity ? { entity } : {}) };
  });

  let window: ObligationsIncident['window'];
  if (o.window !== undefined) {
    const w = object(o.window, ['window']);
    window = { from: time(w, 'from', ['window']), to: time(w, 'to', ['window']) };
    if (window.to < window.from) fail(['window', 'to'], 'must not be before window.from');
  }
  const description = o.description === undefined ? undefined : string(o, 'description', []);
  return {
    id,
    kind,
    awareAt,
    ...(assessedAt ? { assessedAt } : {}),
    recipient: recipient as Recipient,
    controller,
    affected,
    encrypted: o.encrypted as boolean,
    ...(window ? { window } : {}),
    ...(description ? { description } : {}),
  };
}

/**
 * The affected people of a blast radius, as obligations needs them. A customer whose record was
 * not found (country "unknown") keeps that country: their line asks for it instead of guessing.
 */
export function affectedFromExposures(customers: readonly CustomerExposure[]): AffectedPerson[] {
  return customers.map((c) => ({ customer: c.customer, country: c.country, ...(c.region ? { region: c.region } : {}), fields: [...c.fields], ...(c.entity ? { entity: c.entity } : {}) }));
}

/** Parses an incident file's text; a syntax error names its line. */
export function parseObligationsIncidentText(text: string, file: string): ObligationsIncident {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    const line = position !== undefined ? lineAtOffset(text, Number(position)) : /line (\d+)/.exec(message)?.[1];
    const at = line !== undefined ? `${file}:${line}` : file;
    throw new InvalidInputError(`${at}: not valid JSON (${message})`, { file, ...(line !== undefined ? { line: Number(line) } : {}) });
  }
  return parseObligationsIncident(raw, file, (path) => jsonValueLine(text, path));
}

function lineAtOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The line where the value at `path` starts in valid JSON `text`, or undefined. A small scanner,
 * run only when an error needs a line: it skips what is not on the path.
 */
export function jsonValueLine(text: string, path: Path): number | undefined {
  let i = 0;
  let line = 1;
  const space = () => {
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r') break;
    }
  };
  const readString = (): string => {
    const start = i;
    for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  // Skips one value, counting the newlines inside it.
  const skip = () => {
    space();
    const c = text[i];
    if (c === '"') return void readString();
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          space();
          readString();
          space();
          i++; // :
        }
        skip();
        space();
        if (text[i++] === close) return;
      }
    }
    while (i < text.length && !/[\s,}\]]/.test(text[i] as string)) i++;
  };
  const find = (depth: number): number | undefined => {
    space();
    if (depth === path.length) return line;
    const step = path[depth];
    const c = text[i];
    if (c === '{' && typeof step === 'string') {
      i++;
      space();
      if (text[i] === '}') return undefined;
      for (;;) {
        space();
        const key = readString();
        space();
        i++; // :
        if (key === step) return find(depth + 1);
        skip();
        space();
        if (text[i++] === '}') return undefined;
      }
    }
    if (c === '[' && typeof step === 'number') {
      i++;
      space();
      if (text[i] === ']') return undefined;
      for (let n = 0; ; n++) {
        if (n === step) return find(depth + 1);
        skip();
        space();
        if (text[i++] === ']') return undefined;
      }
    }
    return undefined;
  };
  try {
    return find(0);
  } catch {
    return undefined;
  }
}
