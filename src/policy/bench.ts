/**
 * Timing the reveal decision, the one on every reveal's path. `bench/` and the tests call
 * this; the request is a typical allowed reveal (an agent, an open assigned case, one field).
 */
import type { CaseRecord, CustomerProfile, Employee } from '../model.ts';
import type { PolicyDecision, PolicyEngine, RevealRequest } from './engine.ts';

export interface BenchResult {
  iterations: number;
  totalMs: number;
  usPerDecision: number;
  /** The decision the timed request got, to show what was measured. */
  decision: PolicyDecision;
}

/** A typical allowed reveal under the default policies, at `now`. */
export function sampleRevealRequest(now: Date = new Date('2026-03-02T10:00:00Z')): RevealRequest & { customer: CustomerProfile } {
  const actor: Employee = {
    id: 'e-bench',
    name: 'Bench Agent',
    team: 'support-eu',
    role: 'agent',
    location: 'IT',
    hiredAt: '2024-01-01T00:00:00.000Z',
    status: 'active',
  };
  const customer: CustomerProfile = { id: 'c-bench', country: 'IT', region: null, locale: 'it-IT', canary: false, vip: false, fields: ['email', 'phone', 'name'] };
  const kase: CaseRecord = { id: 'k-bench', employee: actor.id, customer: customer.id, openedAt: '2026-03-01T08:00:00.000Z', kind: 'support' };
  return { actor, customer, case: kase, purpose: { kind: 'case', ref: kase.id }, fields: ['email'], now };
}

/** Run `iterations` reveal decisions (after a tenth as many to warm up) and time them. */
export function benchRevealDecisions(engine: PolicyEngine, options: { iterations?: number; request?: RevealRequest } = {}): BenchResult {
  const iterations = options.iterations ?? 20_000;
  const request = options.request ?? sampleRevealRequest();
  let decision = engine.decideReveal(request);
  for (let i = 0; i < iterations / 10; i++) engine.decideReveal(request);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) decision = engine.decideReveal(request);
  const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
  return { iterations, totalMs, usPerDecision: (totalMs * 1000) / iterations, decision };
}
