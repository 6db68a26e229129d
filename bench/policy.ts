/**
 * The Cedar decision alone, with the preparsed policy set: a reveal (the decision on every
 * reveal's path) against a view of the same customer by the same agent, the simplest decision
 * the engine makes, as the baseline. Both with the decision cache off, so Cedar answers every
 * time; then the same reveal answered from the cache, against Cedar answering it.
 */
import { benchRevealDecisions, loadPolicyEngine, sampleRevealRequest, type PolicyDecision, type PolicyEngine } from '../src/policy/index.ts';
import { nowMs, pairedFigure } from './figures.ts';
import { RUNS, type Section } from './section.ts';

export const policySection: Section = {
  name: 'policy',
  description: 'Cedar reveal decision against a view decision',
  async run(ctx) {
    const iterations = ctx.quick ? 2_000 : 50_000;
    const engine = loadPolicyEngine({ cacheSize: 0 });
    const cached = loadPolicyEngine();
    const runs = [];
    const cachedRuns = [];
    for (let i = 0; i < RUNS; i++) {
      const reveal = benchRevealDecisions(engine, { iterations });
      const view = benchViewDecisions(engine, iterations);
      const hit = benchRevealDecisions(cached, { iterations });
      // All must be allows: a deny takes another path through the engine (reason mapping).
      requireAllow('reveal', reveal.decision);
      requireAllow('view', view.decision);
      requireAllow('cached reveal', hit.decision);
      ctx.log(`policy: run ${i + 1}/${RUNS}: reveal ${reveal.usPerDecision.toFixed(1)} µs, view ${view.usPerDecision.toFixed(1)} µs, cached reveal ${hit.usPerDecision.toFixed(1)} µs`);
      runs.push({ value: reveal.usPerDecision, baseline: view.usPerDecision });
      cachedRuns.push({ value: hit.usPerDecision, baseline: reveal.usPerDecision });
    }
    const note = `${iterations.toLocaleString('en-US')} decisions per run after a tenth as many to warm up`;
    return [
      pairedFigure({ section: 'policy', name: 'reveal decision (allow)', unit: 'µs', baselineName: 'view decision (allow)', runs, note: `Cedar asked every time (cache off); ${note}` }),
      pairedFigure({
        section: 'policy',
        name: 'reveal decision, cache hit',
        unit: 'µs',
        baselineName: 'reveal decision, Cedar',
        runs: cachedRuns,
        note: `the same request answered from the decision cache (key: the whole Cedar request, serialized); ${note}`,
      }),
    ];
  },
};

/** As benchRevealDecisions, for a view of the sample request's customer by its actor. */
function benchViewDecisions(engine: PolicyEngine, iterations: number): { usPerDecision: number; decision: PolicyDecision } {
  const { actor, customer, now } = sampleRevealRequest();
  const request = { action: 'view', actor, resource: { type: 'Customer', customer }, now } as const;
  let decision = engine.decide(request);
  for (let i = 0; i < iterations / 10; i++) engine.decide(request);
  const start = nowMs();
  for (let i = 0; i < iterations; i++) decision = engine.decide(request);
  return { usPerDecision: ((nowMs() - start) * 1000) / iterations, decision };
}

function requireAllow(what: string, d: PolicyDecision): void {
  if (d.decision !== 'allow') throw new Error(`the sample ${what} request was denied (${d.reason ?? 'no reason'}); the benchmark would time the wrong path`);
}
