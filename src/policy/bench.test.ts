import { describe, expect, it } from 'vitest';
import { benchRevealDecisions, sampleRevealRequest } from './bench.ts';
import { loadPolicyEngine } from './engine.ts';

describe('reveal decision timing', () => {
  it('times allowed and denied reveals under the default policies', () => {
    const engine = loadPolicyEngine();
    const allowed = benchRevealDecisions(engine, { iterations: 5_000 });
    const { purpose: _p, case: _c, ...noPurpose } = sampleRevealRequest();
    const denied = benchRevealDecisions(engine, { iterations: 5_000, request: noPurpose });
    console.log(`reveal decision: ${allowed.usPerDecision.toFixed(1)} µs allowed, ${denied.usPerDecision.toFixed(1)} µs denied (no purpose)`);
    expect(allowed.decision).toEqual({ decision: 'allow', policies: ['reveal'] });
    expect(denied.decision.reason).toBe('no_purpose');
    // A loose bound, for slow CI machines; bench/ tracks the real figure.
    expect(allowed.usPerDecision).toBeLessThan(1_000);
  });
});
