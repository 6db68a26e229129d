/**
 * Volume: distinct customers whose data a person revealed today, against their own robust
 * baseline (median/MAD over their last 28 active days, Mondays apart) and their peers'
 * employee-days. New hires ramping up are held to their peers' level, never to a baseline of
 * their own first, quiet days.
 */
import type { Finding } from './alert.ts';
import { DistinctToday } from './baseline.ts';
import { CountLimits, describeLimit, limitBaseline } from './counts.ts';
import { Escalation, excessScore, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';

interface Person {
  customers: DistinctToday;
  samples: Samples;
  escalation: Escalation;
}

export class VolumeDetector implements Detector {
  readonly name = 'volume' as const;
  private readonly limits: CountLimits;
  private readonly people: PerEmployee<Person>;

  constructor(slots: Slots) {
    this.limits = new CountLimits(slots, { k: 6, floor: 12, peerFactor: 1.4 });
    this.people = new PerEmployee(slots, () => ({ customers: new DistinctToday(), samples: new Samples(), escalation: new Escalation() }));
  }

  observe(o: Observation): Finding | undefined {
    const nothing = o.revealed.length === 0 || o.event.action === 'export';
    // On the day's first event the metric rolls even so (see Observation.newDay).
    if (nothing && !o.newDay) return undefined;
    const m = this.limits.metric(o);
    if (nothing) return undefined;
    const p = this.people.of(o);
    let added = 0;
    for (const c of o.revealed) if (p.customers.add(o.day, c)) added++;
    if (added === 0) return undefined;
    m.today += added;
    const limit = this.limits.limit(o, m);
    if (m.today > limit.limit * 0.8) p.samples.add(o.day, o.ref);
    const score = excessScore(m.today / limit.limit, 35, 25, 85);
    if (!p.escalation.shouldEmit(o.day, score)) return undefined;
    return finding('volume', o, score, {
      summary: `revealed ${m.today} distinct customers on ${o.event.time.slice(0, 10)}, above the limit of ${Math.round(limit.limit)} (${describeLimit(limit)})`,
      counts: { distinctCustomers: m.today },
      baseline: limitBaseline(limit),
      samples: p.samples.list(),
    });
  }
}
