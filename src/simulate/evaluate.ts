/**
 * How well alerts found a simulation's insiders (truth.json) and how often they flagged honest
 * people. An insider counts as detected by their earliest alert raised at or after their first
 * malicious event (less a second of clock slack); time to detect is that alert's detectedAt
 * minus the first malicious event's time. An alert on an insider *before* their first malicious
 * act flagged someone who was still honest: it counts as a false positive, not a detection.
 * The false-positive rate is the number of distinct honest employees flagged per 1,000
 * employee-days (days employed within the window, summed over employees).
 */
import { InvalidInputError } from '../errors.ts';
import { checkTime, type Where } from '../model.ts';
import { INSIDER_KINDS, type InsiderKind } from './insiders.ts';
import type { Truth, TruthInsider } from './simulate.ts';

/** What eval needs of an alert (`custos detect --json`'s alerts carry more). */
export interface ScoredAlert {
  id: string;
  employee: string;
  detectedAt: string;
  severity?: string;
  detectors?: Array<{ name: string }>;
}

/** Alerts up to this much before the first malicious event still count (timestamps are rounded to ms). */
export const DETECTION_SLACK_MS = 1000;

export interface InsiderOutcome {
  employee: string;
  kind: InsiderKind;
  firstMaliciousAt: string;
  detected: boolean;
  detectedAt?: string;
  alertId?: string;
  /** Time to detect, in hours. */
  ttdHours?: number;
  /** The detectors of the detecting alert. */
  detectors?: string[];
  /** Alerts raised on this employee before their first malicious act (false positives). */
  earlyAlerts: number;
}

export interface KindOutcome {
  kind: InsiderKind;
  insiders: number;
  detected: number;
  medianTtdHours: number | null;
}

export interface Evaluation {
  insiders: InsiderOutcome[];
  kinds: KindOutcome[];
  overall: { insiders: number; detected: number; medianTtdHours: number | null };
  falsePositives: {
    /** Distinct employees flagged while honest: never insiders, or insiders before their first act. */
    flaggedHonest: number;
    employees: string[];
    alerts: number;
    employeeDays: number;
    per1000EmployeeDays: number;
  };
  targets: { allDetected: boolean; medianTtdWithinDay: boolean; falsePositivesWithinOnePer1000: boolean };
}

export function evaluate(truth: Truth, alerts: readonly ScoredAlert[]): Evaluation {
  const byEmployee = new Map<string, ScoredAlert[]>();
  for (const a of alerts) {
    if (!byEmployee.has(a.employee)) byEmployee.set(a.employee, []);
    byEmployee.get(a.employee)!.push(a);
  }
  for (const list of byEmployee.values()) list.sort((a, b) => Date.parse(a.detectedAt) - Date.parse(b.detectedAt));

  const insiderIds = new Set(truth.insiders.map((i) => i.employee));
  const flagged = new Set<string>();
  let honestAlerts = 0;
  for (const [employee, list] of byEmployee) {
    if (insiderIds.has(employee)) continue;
    flagged.add(employee);
    honestAlerts += list.length;
  }

  const insiders = truth.insiders.map((insider): InsiderOutcome => {
    const list = byEmployee.get(insider.employee) ?? [];
    const first = Date.parse(insider.firstMaliciousAt);
    const early = list.filter((a) => Date.parse(a.detectedAt) < first - DETECTION_SLACK_MS);
    if (early.length > 0) {
      flagged.add(insider.employee);
      honestAlerts += early.length;
    }
    const hit = list.find((a) => Date.parse(a.detectedAt) >= first - DETECTION_SLACK_MS);
    return {
      employee: insider.employee,
      kind: insider.kind,
      firstMaliciousAt: insider.firstMaliciousAt,
      detected: hit !== undefined,
      ...(hit ? {
        detectedAt: hit.detectedAt,
        alertId: hit.id,
        ttdHours: Math.max(0, Date.parse(hit.detectedAt) - first) / 3_600_000,
        ...(hit.detectors ? { detectors: hit.detectors.map((d) => d.name) } : {}),
      } : {}),
      earlyAlerts: early.length,
    };
  });

  const kinds = INSIDER_KINDS.map((kind): KindOutcome => {
    const of = insiders.filter((i) => i.kind === kind);
    return { kind, insiders: of.length, detected: of.filter((i) => i.detected).length, medianTtdHours: median(of.flatMap((i) => (i.ttdHours !== undefined ? [i.ttdHours] : []))) };
  }).filter((k) => k.insiders > 0);
  const detected = insiders.filter((i) => i.detected);
  const overallMedian = median(detected.map((i) => i.ttdHours!));
  const per1000 = truth.employeeDays > 0 ? (flagged.size / truth.employeeDays) * 1000 : 0;
  return {
    insiders,
    kinds,
    overall: { insiders: insiders.length, detected: detected.length, medianTtdHours: overallMedian },
    falsePositives: { flaggedHonest: flagged.size, employees: [...flagged].sort(), alerts: honestAlerts, employeeDays: truth.employeeDays, per1000EmployeeDays: per1000 },
    targets: {
      allDetected: detected.length === insiders.length,
      medianTtdWithinDay: overallMedian !== null && overallMedian <= 24,
      falsePositivesWithinOnePer1000: per1000 <= 1,
    },
  };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---------------------------------------------------------------- inputs

function fail(message: string, field: string, where: Where): never {
  throw new InvalidInputError(`${where.file}: field "${field}": ${message}`, { ...where, field });
}

function objectOf(raw: unknown, field: string, where: Where): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object', field, where);
  return raw as Record<string, unknown>;
}

function stringOf(o: Record<string, unknown>, key: string, field: string, where: Where): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') fail('is required (a string)', field, where);
  return v;
}

function timeOf(o: Record<string, unknown>, key: string, field: string, where: Where): string {
  return checkTime(stringOf(o, key, field, where), field, where);
}

/** truth.json as `custos simulate` writes it. */
export function parseTruth(raw: unknown, file: string): Truth {
  const where = { file };
  const o = objectOf(raw, '(top level)', where);
  const employeeDays = o.employeeDays;
  if (typeof employeeDays !== 'number' || !(employeeDays >= 0)) fail('must be a number of days, 0 or more', 'employeeDays', where);
  if (!Array.isArray(o.insiders)) fail('must be an array', 'insiders', where);
  const insiders = o.insiders.map((item, k): TruthInsider => {
    const i = objectOf(item, `insiders[${k}]`, where);
    const kind = stringOf(i, 'kind', `insiders[${k}].kind`, where);
    if (!(INSIDER_KINDS as readonly string[]).includes(kind)) fail(`must be one of ${INSIDER_KINDS.join(', ')}`, `insiders[${k}].kind`, where);
    const events = i.events;
    return {
      employee: stringOf(i, 'employee', `insiders[${k}].employee`, where),
      kind: kind as InsiderKind,
      firstMaliciousAt: timeOf(i, 'firstMaliciousAt', `insiders[${k}].firstMaliciousAt`, where),
      firstMaliciousEventId: typeof i.firstMaliciousEventId === 'string' ? i.firstMaliciousEventId : '',
      events: typeof events === 'number' ? events : 0,
    };
  });
  const num = (key: string) => (typeof o[key] === 'number' ? (o[key] as number) : 0);
  return {
    seed: num('seed'),
    employees: num('employees'),
    customers: num('customers'),
    days: num('days'),
    start: typeof o.start === 'string' ? o.start : '',
    end: typeof o.end === 'string' ? o.end : '',
    employeeDays,
    insiders,
  };
}

/** `custos detect --json`'s output: `{"alerts":[...]}` (a bare array is accepted too). */
export function parseAlerts(raw: unknown, file: string): ScoredAlert[] {
  const where = { file };
  const list = Array.isArray(raw) ? raw : objectOf(raw, '(top level)', where).alerts;
  if (!Array.isArray(list)) fail('must be an array of alerts', 'alerts', where);
  return list.map((item, k): ScoredAlert => {
    const a = objectOf(item, `alerts[${k}]`, where);
    const detectors = Array.isArray(a.detectors)
      ? a.detectors.flatMap((d) => (typeof d === 'object' && d !== null && typeof (d as { name?: unknown }).name === 'string' ? [{ name: (d as { name: string }).name }] : []))
      : undefined;
    return {
      id: typeof a.id === 'string' ? a.id : `alerts[${k}]`,
      employee: stringOf(a, 'employee', `alerts[${k}].employee`, where),
      detectedAt: timeOf(a, 'detectedAt', `alerts[${k}].detectedAt`, where),
      ...(typeof a.severity === 'string' ? { severity: a.severity } : {}),
      ...(detectors ? { detectors } : {}),
    };
  });
}

// ---------------------------------------------------------------- the table

/** A duration for people: seconds, minutes, hours or days. */
export function formatHours(hours: number | null | undefined): string {
  if (hours === null || hours === undefined) return '-';
  if (hours < 1 / 60) return `${Math.round(hours * 3600)} s`;
  if (hours < 1) return `${Math.round(hours * 60)} min`;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} d`;
}

export function formatEvaluation(e: Evaluation): string {
  const rows: string[][] = [['kind', 'insiders', 'detected', 'median TTD']];
  for (const k of e.kinds) rows.push([k.kind, String(k.insiders), `${k.detected}/${k.insiders}`, formatHours(k.medianTtdHours)]);
  rows.push(['overall', String(e.overall.insiders), `${e.overall.detected}/${e.overall.insiders}`, formatHours(e.overall.medianTtdHours)]);
  const people: string[][] = [['employee', 'kind', 'first malicious act', 'detected at', 'TTD', 'detectors']];
  for (const i of e.insiders) {
    people.push([i.employee, i.kind, i.firstMaliciousAt, i.detectedAt ?? 'missed', formatHours(i.ttdHours), (i.detectors ?? []).join(',')]);
  }
  const fp = e.falsePositives;
  const yes = (ok: boolean) => (ok ? 'met' : 'NOT met');
  return [
    table(rows, [false, true, true, true]),
    '',
    table(people, [false, false, false, false, true, false]),
    '',
    `false positives: ${fp.flaggedHonest} honest employee(s) flagged (${fp.alerts} alert(s)) in ${fp.employeeDays.toLocaleString('en-US')} employee-days` +
      ` = ${fp.per1000EmployeeDays.toFixed(2)} per 1,000 employee-days${fp.employees.length ? `: ${fp.employees.slice(0, 20).join(', ')}${fp.employees.length > 20 ? ', …' : ''}` : ''}`,
    `targets: every insider detected ${yes(e.targets.allDetected)}; median TTD ≤ 1 day ${yes(e.targets.medianTtdWithinDay)}; ≤ 1 flagged honest employee per 1,000 employee-days ${yes(e.targets.falsePositivesWithinOnePer1000)}`,
  ].join('\n');
}

function table(rows: string[][], rightAligned: boolean[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}
