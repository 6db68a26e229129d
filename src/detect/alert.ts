/**
 * The alert model shared by the detection library (batch and live), the alert store and API,
 * and incidents. Detectors know nothing of HTTP or SQL: they read access events and a directory
 * of employees, customers and cases, and produce findings; the risk scorer turns findings into
 * alerts.
 */

export const DETECTOR_NAMES = [
  'canary', 'no_purpose', 'purpose_quality', 'volume', 'enumeration',
  'time_place', 'bulk_export', 'departure', 'vip', 'probing',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_STATES = ['open', 'acknowledged', 'dismissed', 'escalated'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** An event an alert points at: its id and, when it is recorded, its ledger index. */
export interface EventRef {
  id: string;
  seq?: number;
  time: string;
  /**
   * For an event another system sent through ingest, that system (the ingest's source): its
   * facts are that system's word, not a decision the broker recorded, so an analyst weighs it so.
   */
  source?: string;
}

/** What a detector saw, in numbers an analyst can check. */
export interface Evidence {
  /** One sentence in plain words, e.g. "revealed 46 distinct customers on 2026-03-02; own median 6, peers' 95th percentile 14". */
  summary: string;
  /** Observed counts (e.g. distinctCustomers, withoutPurpose, denied). */
  counts: Record<string, number>;
  /** What they were compared with (e.g. ownMedian, ownMad, peerP95, peers). */
  baseline: Record<string, number>;
  /** A few of the events behind the finding (at most 10), oldest first. */
  samples: EventRef[];
}

export interface Finding {
  detector: DetectorName;
  /** 0–100: this detector's contribution before decay. */
  score: number;
  /** Event time at which the finding was made. */
  at: string;
  employee: string;
  evidence: Evidence;
}

export interface AlertDetector {
  name: DetectorName;
  score: number;
  evidence: Evidence;
}

/** One alert: an employee's risk crossing the threshold, one per employee and episode. */
export interface Alert {
  id: string;
  employee: string;
  /** The risk score (0–100) when the alert was raised or last updated. */
  score: number;
  severity: Severity;
  /** Event time at which the alert first fired. */
  detectedAt: string;
  /** The earliest event among the evidence. */
  firstEventAt: string;
  /** Event time of the latest update (new findings in the same episode). */
  updatedAt: string;
  detectors: AlertDetector[];
  /** One paragraph in plain language: who (by alias), what, compared with what. */
  explanation: string;
  state: AlertState;
}
