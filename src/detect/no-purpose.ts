/**
 * No purpose: reveals and exports of customers no open case links to the person, per day and
 * over their last seven active days, against their own history and their peers'. Team leads
 * handling escalations do this every day (their own baseline and their peers' say so); on a day
 * the case system is down a whole team does it at once (team-wide.ts damps what peers share).
 */
import type { Finding } from './alert.ts';
import { CountLimits, describeLimit, limitBaseline, RARE_RATE } from './counts.ts';
import { DistinctToday, surpriseScore, type DailyMetric } from './baseline.ts';
import { Escalation, excessScore, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';

interface Person {
  customers: DistinctToday;
  samples: Samples;
  escalation: Escalation;
}

export class NoPurposeDetector implements Detector {
  readonly name = 'no_purpose' as const;
  private readonly daily: CountLimits;
  private readonly people: PerEmployee<Person>;

  constructor(slots: Slots) {
    this.daily = new CountLimits(slots, { k: 5, floor: 3, peerFactor: 1.5 });
    this.people = new PerEmployee(slots, () => ({ customers: new DistinctToday(), samples: new Samples(), escalation: new Escalation() }));
  }

  observe(o: Observation): Finding | undefined {
    if (o.unjustified.length === 0 && !o.newDay) return undefined;
    const m = this.daily.metric(o);
    if (o.unjustified.length === 0) return undefined;
    const p = this.people.of(o);
    let added = 0;
    for (const c of o.unjustified) if (p.customers.add(o.day, c)) added++;
    if (added === 0) return undefined;
    m.today += added;
    p.samples.add(o.day, o.ref);
    return this.judge(o, m, p);
  }

  private judge(o: Observation, m: DailyMetric, p: Person): Finding | undefined {
    const day = this.daily.limit(o, m);
    const weekTotal = m.weekTotal();
    const weekLimit = this.daily.weeklyLimit(o, m, 6).limit;
    // Rare for most people (agents reveal under their cases): a Poisson surprise says how rare;
    // for those who do it daily (team leads) the ratio to their limit says how far above.
    const rate = this.daily.rate(o, m, 0.02);
    const dayScore = Math.max(excessScore(m.today / day.limit, 40, 22, 90), rate <= RARE_RATE ? surpriseScore(m.today, rate) : 0);
    // A slow leak: a few a day, every day.
    const weekScore = excessScore(weekTotal / weekLimit, 38, 20, 80);
    const score = Math.max(dayScore, weekScore);
    if (!p.escalation.shouldEmit(o.day, score)) return undefined;
    const summary =
      `revealed ${m.today} customers without a linked purpose on ${o.event.time.slice(0, 10)} (usually ${Math.round(rate * 100) / 100} a day; limit ${Math.round(day.limit)}: ${describeLimit(day)}); ` +
      `${weekTotal} over their last 7 active days`;
    return finding('no_purpose', o, score, {
      summary,
      counts: { withoutPurpose: m.today, withoutPurpose7d: weekTotal },
      baseline: { ...limitBaseline(day), usualPerDay: Math.round(rate * 100) / 100, limit7d: Math.round(weekLimit) },
      samples: p.samples.list(),
    });
  }
}
