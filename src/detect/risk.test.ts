import { describe, expect, it } from 'vitest';
import type { Finding } from './alert.ts';
import { aliasOf } from './alias.ts';
import { RiskScorer } from './risk.ts';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-02T09:00:00Z');

function f(detector: Finding['detector'], score: number, ms: number, employee = 'emp-1'): Finding {
  const at = new Date(ms).toISOString();
  return { detector, score, at, employee, evidence: { summary: `${detector} saw something`, counts: { n: 1 }, baseline: { usual: 0 }, samples: [{ id: `ev-${ms}`, time: at }] } };
}

const scorer = () => new RiskScorer({ threshold: 50, halfLifeHours: 48, alias: (e) => aliasOf(e) });

describe('the risk scorer', () => {
  it('raises no alert below the threshold, and one when findings together cross it', () => {
    const s = scorer();
    expect(s.add(f('volume', 40, T0), T0, undefined)).toBeUndefined();
    const alert = s.add(f('no_purpose', 30, T0 + HOUR), T0 + HOUR, undefined);
    // 1 − (1 − 0.4·2^(−1/48))(1 − 0.3) ≈ 0.58
    expect(alert).toMatchObject({ employee: 'emp-1', score: 58, severity: 'low', detectedAt: new Date(T0 + HOUR).toISOString(), firstEventAt: new Date(T0).toISOString(), state: 'open' });
    expect(alert!.detectors.map((d) => d.name)).toEqual(['volume', 'no_purpose']);
  });

  it('halves a finding after its half-life', () => {
    const s = scorer();
    s.add(f('volume', 80, T0), T0, undefined);
    expect(s.risk('emp-1', T0 + 48 * HOUR).score).toBeCloseTo(40, 5);
    expect(s.risk('emp-1', T0 + 96 * HOUR).score).toBeCloseTo(20, 5);
  });

  it('keeps one alert per episode, updated by later findings; a new episode once risk has decayed below half the threshold', () => {
    const s = scorer();
    const first = s.add(f('no_purpose', 70, T0), T0, undefined)!;
    const updated = s.add(f('vip', 60, T0 + 2 * HOUR), T0 + 2 * HOUR, undefined)!;
    expect(updated.id).toBe(first.id);
    expect(updated.detectedAt).toBe(first.detectedAt);
    expect(updated.score).toBeGreaterThan(first.score);
    expect(updated.severity).toBe('high');
    // Ten days later both have decayed far below 25: the next crossing is a new alert.
    const later = s.add(f('no_purpose', 70, T0 + 240 * HOUR), T0 + 240 * HOUR, undefined)!;
    expect(later.id).not.toBe(first.id);
    expect(later.detectedAt).toBe(new Date(T0 + 240 * HOUR).toISOString());
  });

  it('makes any canary finding critical, and explains with the alias, never the id', () => {
    const s = scorer();
    const alert = s.add(f('canary', 100, T0, 'emp-0042'), T0, { id: 'emp-0042', team: 'support', role: 'agent', location: 'Milan', hiredAt: '2024-01-01T00:00:00.000Z' })!;
    expect(alert.severity).toBe('critical');
    expect(alert.explanation).toContain(`Analyst-facing alias '${aliasOf('emp-0042')}' (agent, team support)`);
    expect(alert.explanation).not.toContain('emp-0042');
  });

  it('ignores a weaker finding of a detector whose earlier one still weighs more', () => {
    const s = scorer();
    s.add(f('volume', 45, T0), T0, undefined);
    expect(s.add(f('volume', 20, T0 + HOUR), T0 + HOUR, undefined)).toBeUndefined();
    expect(s.risk('emp-1', T0 + HOUR).score).toBeGreaterThan(44);
  });
});
