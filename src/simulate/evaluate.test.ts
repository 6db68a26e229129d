import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { evaluate, formatEvaluation, formatHours, parseAlerts, parseTruth, type ScoredAlert } from './evaluate.ts';
import type { Truth } from './simulate.ts';

const truth: Truth = {
  seed: 1, employees: 10, customers: 100, days: 10,
  start: '2026-03-02T00:00:00.000Z', end: '2026-03-12T00:00:00.000Z',
  employeeDays: 2000,
  insiders: [
    { employee: 'emp-0011', kind: 'seller_leak', firstMaliciousAt: '2026-03-09T10:00:00.000Z', firstMaliciousEventId: 'ev-1', events: 40 },
    { employee: 'emp-0012', kind: 'seller_leak', firstMaliciousAt: '2026-03-09T12:00:00.000Z', firstMaliciousEventId: 'ev-2', events: 40 },
    { employee: 'emp-0013', kind: 'canary_touch', firstMaliciousAt: '2026-03-10T09:00:00.000Z', firstMaliciousEventId: 'ev-3', events: 2 },
    { employee: 'emp-0014', kind: 'slow_seller_leak', firstMaliciousAt: '2026-03-08T09:00:00.000Z', firstMaliciousEventId: 'ev-4', events: 6 },
  ],
};

const alert = (id: string, employee: string, detectedAt: string, detector = 'volume'): ScoredAlert => ({ id, employee, detectedAt, detectors: [{ name: detector }] });

describe('evaluate', () => {
  const result = evaluate(truth, [
    alert('a1', 'emp-0011', '2026-03-09T16:00:00.000Z'),
    alert('a2', 'emp-0011', '2026-03-09T13:00:00.000Z'),
    // Flagged before the first malicious act: a false positive, and no detection.
    alert('a3', 'emp-0012', '2026-03-05T12:00:00.000Z'),
    // The canary's own event: detected at once.
    alert('a4', 'emp-0013', '2026-03-10T09:00:00.000Z', 'canary'),
    alert('a5', 'emp-0002', '2026-03-04T12:00:00.000Z', 'no_purpose'),
    alert('a6', 'emp-0002', '2026-03-06T12:00:00.000Z', 'no_purpose'),
    alert('a7', 'emp-0003', '2026-03-06T12:00:00.000Z'),
  ]);

  it('detects an insider by their earliest alert at or after the first malicious act, and measures the time to detect from it', () => {
    expect(result.insiders[0]).toMatchObject({ employee: 'emp-0011', detected: true, alertId: 'a2', detectedAt: '2026-03-09T13:00:00.000Z', ttdHours: 3, detectors: ['volume'], earlyAlerts: 0 });
    expect(result.insiders[2]).toMatchObject({ employee: 'emp-0013', detected: true, ttdHours: 0 });
    expect(result.insiders[3]).toMatchObject({ employee: 'emp-0014', detected: false, earlyAlerts: 0 });
  });

  it('counts an alert before the first malicious act as a false positive, not a detection', () => {
    expect(result.insiders[1]).toMatchObject({ employee: 'emp-0012', detected: false, earlyAlerts: 1 });
    expect(result.falsePositives).toMatchObject({ flaggedHonest: 3, employees: ['emp-0002', 'emp-0003', 'emp-0012'], alerts: 4, employeeDays: 2000 });
    expect(result.falsePositives.per1000EmployeeDays).toBeCloseTo(1.5);
  });

  it('gives the detected share and median time to detect per kind and overall', () => {
    expect(result.kinds).toEqual([
      { kind: 'seller_leak', insiders: 2, detected: 1, medianTtdHours: 3 },
      { kind: 'slow_seller_leak', insiders: 1, detected: 0, medianTtdHours: null },
      { kind: 'canary_touch', insiders: 1, detected: 1, medianTtdHours: 0 },
    ]);
    // Median of 3 h and 0 h.
    expect(result.overall).toEqual({ insiders: 4, detected: 2, medianTtdHours: 1.5 });
    expect(result.targets).toEqual({ allDetected: false, medianTtdWithinDay: true, falsePositivesWithinOnePer1000: false });
  });

  it('meets the targets when every insider is found within a day and nobody honest is flagged', () => {
    const all = evaluate(truth, truth.insiders.map((i, k) => alert(`b${k}`, i.employee, new Date(Date.parse(i.firstMaliciousAt) + (k + 1) * 3_600_000).toISOString())));
    expect(all.targets).toEqual({ allDetected: true, medianTtdWithinDay: true, falsePositivesWithinOnePer1000: true });
    expect(all.overall.medianTtdHours).toBe(2.5);
    expect(all.falsePositives.flaggedHonest).toBe(0);
  });

  it('prints a table per kind and per insider, the false-positive rate and the targets', () => {
    const text = formatEvaluation(result);
    expect(text).toMatch(/seller_leak\s+2\s+1\/2\s+3\.0 h/);
    expect(text).toMatch(/emp-0014\s+slow_seller_leak\s+2026-03-08T09:00:00\.000Z\s+missed/);
    expect(text).toContain('3 honest employee(s) flagged (4 alert(s)) in 2,000 employee-days = 1.50 per 1,000 employee-days');
    expect(text).toContain('every insider detected NOT met');
    expect(formatHours(0.001)).toBe('4 s');
    expect(formatHours(0.5)).toBe('30 min');
    expect(formatHours(72)).toBe('3.0 d');
  });
});

describe('eval inputs', () => {
  it('reads detect --json output and truth.json', () => {
    const alerts = parseAlerts({ alerts: [{ id: 'x', employee: 'emp-0001', score: 70, severity: 'high', detectedAt: '2026-03-02T10:00:00Z', firstEventAt: '2026-03-02T09:00:00Z', detectors: [{ name: 'canary', score: 100, evidence: {} }], explanation: '…' }] }, 'alerts.json');
    expect(alerts).toEqual([{ id: 'x', employee: 'emp-0001', detectedAt: '2026-03-02T10:00:00.000Z', severity: 'high', detectors: [{ name: 'canary' }] }]);
    expect(parseTruth(JSON.parse(JSON.stringify(truth)), 'truth.json')).toEqual(truth);
  });

  it('names the file and field of a bad input', () => {
    expect(() => parseAlerts({ alerts: [{ id: 'x', employee: 'emp-0001', detectedAt: 'yesterday' }] }, 'alerts.json')).toThrow(/alerts\.json.*alerts\[0\]\.detectedAt/);
    expect(() => parseAlerts({ nope: 1 }, 'alerts.json')).toThrow(InvalidInputError);
    expect(() => parseTruth({ ...truth, insiders: [{ ...truth.insiders[0], kind: 'gossip' }] }, 'truth.json')).toThrow(/truth\.json.*insiders\[0\]\.kind/);
    expect(() => parseTruth({ ...truth, employeeDays: 'many' }, 'truth.json')).toThrow(/employeeDays/);
  });
});
