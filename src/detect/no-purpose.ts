/**
 * No purpose: reveals and exports of customers no open case links to the person, per day and
 * over their last seven active days, against their own history and their peers'. Team leads
 * handling escalations do this every day (their own baseline and their peers' say so); on a day
 * the case system is down a whole team does it at once (their peers cross their limits too, and
 * the finding is damped).
 */
import type { Finding } from './alert.ts';
import { CountLimits, describeLimit, limitBaseline, PeerConcurrency, type Limit } from './counts.ts';
import { DistinctToday } from './baseline.ts';
import { Escalation, excessScore, finding, Samples, type Detector, type Observation } from './detector.ts';

interface Person {
  customers: DistinctToday;
  samples: Samples;
  escalation: Escalation;
}

const HOUR = 3_600_000;

export class NoPurposeDetector implements Detector {
  readonly name = 'no_purpose' as const;
  private readonly daily = new CountLimits({ k: 5, floor: 4, peerFactor: 1.5 });
  private readonly people = new Map<string, Person>();
  private readonly concurrency = new PeerConcurrency();

  observe(o: Observation): Finding | undefined {
    const m = this.daily.metric(o);
    if (o.unjustified.length === 0) return undefined;
    const p = this.person(o.event.actor);
    let added = 0;
    for (const c of o.unjustified) if (p.customers.add(o.day, c)) added++;
    if (added === 0) return undefined;
    m.today += added;
    p.samples.add(o.day, o.ref);

    const day = this.daily.limit(o, m);
    const weekTotal = m.weekTotal();
    const weekLimit = weeklyLimit(day);
    if (m.today >= Math.max(2, day.limit * 0.5)) this.concurrency.mark(o.peer, o.event.actor, o.ms);
    const dayScore = excessScore(m.today / day.limit, 40, 22, 90);
    // A slow leak: a few a day, every day. 
    const weekScore = excessScore(weekTotal / weekLimit, 38, 20, 80);
    let score = Math.max(dayScore, weekScore);
    if (score === 0) return undefined;
    const peersToo = this.concurrency.others(o.peer, o.event.actor, o.ms, 4 * HOUR);
    if (peersToo >= 2) score *= 0.25;
    if (!p.escalation.shouldEmit(o.day, score)) return undefined;
    const summary =
      `revealed ${m.today} customers without a linked purpose on ${o.event.time.slice(0, 10)} (limit ${Math.round(day.limit)}: ${describeLimit(day)}); ` +
      `${weekTotal} over their last 7 active days` +
      (peersToo >= 2 ? `; ${peersToo} peers did the same within 4 hours, so this looks like a team-wide cause (e.g. the case system down)` : '');
    return finding('no_purpose', o, score, {
      summary,
      counts: { withoutPurpose: m.today, withoutPurpose7d: weekTotal, peersAlsoAnomalous: peersToo },
      baseline: { ...limitBaseline(day), limit7d: Math.round(weekLimit) },
      samples: p.samples.list(),
    });
  }

  private person(id: string): Person {
    let p = this.people.get(id);
    if (!p) {
      p = { customers: new DistinctToday(), samples: new Samples(), escalation: new Escalation() };
      this.people.set(id, p);
    }
    return p;
  }
}

/** Seven days at the usual daily level, plus room for the day-to-day spread to add up. */
function weeklyLimit(day: Limit): number {
  const base = day.ownLimit === undefined ? day.peerMedian : Math.max(day.own.median, day.peerScope === 'team' ? day.peerMedian : 0);
  const spread = Math.max(day.own.sigma, Math.sqrt(base), 1);
  return Math.max(7, 7 * base + 2.5 * Math.sqrt(7) * spread);
}
