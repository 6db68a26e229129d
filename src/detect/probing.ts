/**
 * Probing: bursts of denied requests, searches that find nobody, and the same number or address
 * searched again and again (the search record carries a keyed hash of the query, never the
 * query), against the person's own history and their peers'.
 */
import type { Finding } from './alert.ts';
import { CountLimits, describeLimit, limitBaseline } from './counts.ts';
import { Escalation, excessScore, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';

interface Person {
  day: number;
  denied: number;
  misses: number;
  repeats: Map<string, number>;
  maxRepeat: number;
  samples: Samples;
  escalation: Escalation;
}

const MAX_QUERIES_TRACKED = 256;

export class ProbingDetector implements Detector {
  readonly name = 'probing' as const;
  private readonly limits: CountLimits;
  private readonly people: PerEmployee<Person>;

  constructor(slots: Slots) {
    this.limits = new CountLimits(slots, { k: 6, floor: 8, peerFactor: 1.5 });
    this.people = new PerEmployee(slots, (o) => ({ day: o.day, denied: 0, misses: 0, repeats: new Map(), maxRepeat: 0, samples: new Samples(), escalation: new Escalation() }));
  }

  observe(o: Observation): Finding | undefined {
    const { event } = o;
    const denied = event.decision === 'deny';
    const miss = event.action === 'search' && (event.search ? event.search.hits === 0 : event.customers.length === 0);
    // On the day's first event the metric rolls even so (see Observation.newDay).
    if (!denied && !miss && !o.newDay) return undefined;
    const m = this.limits.metric(o);
    if (!denied && !miss) return undefined;
    const p = this.person(o);
    if (denied) p.denied++;
    if (miss) p.misses++;
    if (event.search) {
      const n = (p.repeats.get(event.search.hash) ?? 0) + 1;
      if (n > 1 || p.repeats.size < MAX_QUERIES_TRACKED) p.repeats.set(event.search.hash, n);
      p.maxRepeat = Math.max(p.maxRepeat, n);
    }
    m.today++;
    p.samples.add(o.day, o.ref);
    const limit = this.limits.limit(o, m);
    const burstScore = excessScore(m.today / limit.limit, 35, 22, 85);
    const repeatScore = p.maxRepeat >= 4 ? Math.min(80, 30 + 8 * (p.maxRepeat - 4)) : 0;
    const score = Math.max(burstScore, repeatScore);
    if (!p.escalation.shouldEmit(o.day, score)) return undefined;
    return finding('probing', o, score, {
      summary:
        `${p.denied} denied requests and ${p.misses} searches that found nobody on ${event.time.slice(0, 10)} (limit ${Math.round(limit.limit)} together: ${describeLimit(limit)})` +
        (p.maxRepeat >= 4 ? `; one query repeated ${p.maxRepeat} times` : ''),
      counts: { denied: p.denied, searchMisses: p.misses, probes: m.today, maxRepeatedQuery: p.maxRepeat },
      baseline: limitBaseline(limit),
      samples: p.samples.list(),
    });
  }

  private person(o: Observation): Person {
    const p = this.people.of(o);
    if (p.day !== o.day) {
      p.day = o.day;
      p.denied = 0;
      p.misses = 0;
      p.repeats.clear();
      p.maxRepeat = 0;
    }
    return p;
  }
}
