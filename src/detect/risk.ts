/**
 * The risk scorer: each employee's risk (0–100) combines the latest finding of each detector,
 * each decaying with a half-life, as independent pieces of evidence (1 − Π(1 − sᵢ/100)). An
 * alert is raised when the risk crosses the threshold; further findings in the same episode
 * update that alert; the episode ends once the risk has decayed below half the threshold, and
 * a later crossing is a new alert.
 */
import { createHash } from 'node:crypto';
import type { Alert, AlertDetector, DetectorName, Finding, Severity } from './alert.ts';
import type { DirectoryEmployee } from './directory.ts';

export interface RiskOptions {
  /** Risk at which an alert is raised (default 50). */
  threshold?: number;
  /** Half-life of a finding's contribution, hours (default 48). */
  halfLifeHours?: number;
  /** The alias an explanation names the employee by. */
  alias: (employee: string) => string;
}

interface Held {
  finding: Finding;
  ms: number;
}

interface EmployeeRisk {
  held: Map<DetectorName, Held>;
  /** The open episode's alert, if any. */
  alert: Alert | undefined;
}

/** Below this a detector's decayed contribution is no longer listed on an alert. */
const LISTED = 5;

export class RiskScorer {
  readonly threshold: number;
  private readonly halfLifeMs: number;
  private readonly people = new Map<string, EmployeeRisk>();

  constructor(private readonly options: RiskOptions) {
    this.threshold = options.threshold ?? 50;
    this.halfLifeMs = (options.halfLifeHours ?? 48) * 3_600_000;
  }

  /** The employee's risk at `ms` and the decayed contribution of each detector. */
  risk(employee: string, ms: number): { score: number; detectors: { name: DetectorName; score: number }[] } {
    const r = this.people.get(employee);
    if (!r) return { score: 0, detectors: [] };
    const detectors = [...r.held.entries()].map(([name, h]) => ({ name, score: this.decayed(h, ms) }));
    return { score: combine(detectors.map((d) => d.score)), detectors };
  }

  /** Adds a finding made at `ms`; returns the alert it raised or updated, if any. */
  add(f: Finding, ms: number, employee: DirectoryEmployee | undefined): Alert | undefined {
    let r = this.people.get(f.employee);
    if (!r) {
      r = { held: new Map(), alert: undefined };
      this.people.set(f.employee, r);
    }
    if (r.alert && this.riskOf(r, ms) < this.threshold / 2) {
      // The episode is over: its findings are history, the next crossing is a new alert.
      r.alert = undefined;
    }
    const before = r.held.get(f.detector);
    if (before && this.decayed(before, ms) > f.score) return undefined;
    r.held.set(f.detector, { finding: f, ms });
    const score = this.riskOf(r, ms);
    if (!r.alert && score < this.threshold) return undefined;
    const detectors = this.listed(r, ms);
    const severity = severityOf(score, detectors);
    const firstEventAt = earliest(detectors, r.alert?.firstEventAt ?? f.at);
    const rounded = Math.round(score);
    if (!r.alert) {
      r.alert = {
        id: alertId(f.employee, f.at, f.evidence.samples.at(-1)?.id ?? ''),
        employee: f.employee,
        score: rounded,
        severity,
        detectedAt: f.at,
        firstEventAt,
        updatedAt: f.at,
        detectors,
        explanation: '',
        state: 'open',
      };
    } else {
      r.alert = { ...r.alert, score: Math.max(r.alert.score, rounded), severity: maxSeverity(r.alert.severity, severity), firstEventAt, updatedAt: f.at, detectors };
    }
    r.alert.explanation = explain(r.alert, this.options.alias(f.employee), employee, this.threshold);
    return r.alert;
  }

  private riskOf(r: EmployeeRisk, ms: number): number {
    return combine([...r.held.values()].map((h) => this.decayed(h, ms)));
  }

  private decayed(h: Held, ms: number): number {
    return h.finding.score * 0.5 ** (Math.max(0, ms - h.ms) / this.halfLifeMs);
  }

  private listed(r: EmployeeRisk, ms: number): AlertDetector[] {
    return [...r.held.values()]
      .map((h) => ({ name: h.finding.detector, score: Math.round(this.decayed(h, ms)), evidence: h.finding.evidence }))
      .filter((d) => d.score >= LISTED)
      .sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  }
}

function combine(scores: readonly number[]): number {
  let keep = 1;
  for (const s of scores) keep *= 1 - Math.min(100, Math.max(0, s)) / 100;
  return 100 * (1 - keep);
}

function severityOf(score: number, detectors: readonly AlertDetector[]): Severity {
  if (detectors.some((d) => d.name === 'canary') || score >= 90) return 'critical';
  if (score >= 75) return 'high';
  if (score >= 60) return 'medium';
  return 'low';
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

function earliest(detectors: readonly AlertDetector[], start: string): string {
  let first = start;
  for (const d of detectors) for (const s of d.evidence.samples) if (s.time < first) first = s.time;
  return first;
}

/** Deterministic: the same events give the same ids, batch or live. */
function alertId(employee: string, at: string, eventId: string): string {
  return `alert-${createHash('sha256').update(`${employee}\u0000${at}\u0000${eventId}`).digest('hex').slice(0, 16)}`;
}

const DETECTOR_TITLES: Record<DetectorName, string> = {
  canary: 'Canary',
  no_purpose: 'No purpose',
  purpose_quality: 'Purpose quality',
  volume: 'Volume',
  enumeration: 'Enumeration',
  time_place: 'Time and place',
  bulk_export: 'Bulk export',
  departure: 'Departure',
  vip: 'VIP',
  probing: 'Probing',
};

/** One paragraph an analyst can check against the evidence; names the alias, never the person. */
function explain(alert: Alert, alias: string, employee: DirectoryEmployee | undefined, threshold: number): string {
  const who = `Analyst-facing alias '${alias}'${employee ? ` (${employee.role}, team ${employee.team})` : ''}`;
  const what = alert.detectors.map((d) => `${DETECTOR_TITLES[d.name]} (${d.score}): ${d.evidence.summary}.`).join(' ');
  return (
    `${who} reached a risk of ${alert.score} out of 100 (alert threshold ${threshold}) at ${alert.updatedAt}, first raised at ${alert.detectedAt}; ` +
    `the earliest event behind it is from ${alert.firstEventAt}. ${what} ` +
    `Each finding lists sample events (ids and ledger indexes) to check against the record.`
  );
}
