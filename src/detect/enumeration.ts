/**
 * Enumeration: walking through customers rather than serving them — consecutive or sorted ids,
 * and many distinct customers touched in a day that no case ever linked the person to, far
 * beyond their own and their peers' normal.
 */
import type { Finding } from './alert.ts';
import { DistinctToday, surpriseScore } from './baseline.ts';
import { CountLimits, describeLimit, limitBaseline, RARE_RATE } from './counts.ts';
import { Escalation, excessScore, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';

interface Person {
  customers: DistinctToday;
  lastNumber: number | undefined;
  run: number;
  maxRun: number;
  runDay: number;
  samples: Samples;
  escalation: Escalation;
  /** What the last judgement saw (see observe). */
  judged: { day: number; metricDay: number; today: number; maxRun: number; peers: object | undefined };
}

/** Steps between successive ids that count as walking in id order (one country's customers in order leave gaps). */
const MAX_STEP = 64;
const MIN_RUN = 8;

export class EnumerationDetector implements Detector {
  readonly name = 'enumeration' as const;
  private readonly limits: CountLimits;
  private readonly people: PerEmployee<Person>;

  constructor(slots: Slots) {
    this.limits = new CountLimits(slots, { k: 6, floor: 25, peerFactor: 1.5 });
    this.people = new PerEmployee(slots, (o) => ({ customers: new DistinctToday(), lastNumber: undefined, run: 0, maxRun: 0, runDay: o.day, samples: new Samples(), escalation: new Escalation(), judged: { day: -1, metricDay: -1, today: -1, maxRun: -1, peers: undefined } }));
  }

  observe(o: Observation): Finding | undefined {
    const { event } = o;
    // One export of many records is bulk export's concern; here, one customer at a time.
    const other = event.customers.length === 0 || event.customers.length > 5 || event.action === 'update' || event.action === 'delete';
    // On the day's first event the metric rolls even so (see Observation.newDay).
    if (other && !o.newDay) return undefined;
    const m = this.limits.metric(o);
    if (other) return undefined;
    const p = this.person(o);
    let added = 0;
    for (const c of event.customers) {
      this.step(p, c);
      if (o.actor.casesLinking(o.directory, c).length === 0 && p.customers.add(o.day, c)) added++;
    }
    m.today += added;
    if (added > 0 || p.run >= MIN_RUN) p.samples.add(o.day, o.ref);
    // Nothing new since the last judgement the same day (no customer added, the same count, run,
    // baseline and peers): the score could only be the same or lower (no new customer, no
    // surprise), and that one was given or was not one to give. Most events are such.
    const peers = this.limits.peerLevel(o);
    const j = p.judged;
    if (added === 0 && j.day === o.day && j.metricDay === m.day && j.today === m.today && j.maxRun === p.maxRun && j.peers === peers) return undefined;
    j.day = o.day;
    j.metricDay = m.day;
    j.today = m.today;
    j.maxRun = p.maxRun;
    j.peers = peers;
    const limit = this.limits.limit(o, m);
    // Most people touch only customers their cases link them to: a few others in a day is
    // already rare for them (a Poisson surprise, capped: a few is not yet a sweep).
    const rate = this.limits.rate(o, m, 0.05);
    const sweepScore = Math.max(excessScore(m.today / limit.limit, 35, 22, 80), added > 0 && rate <= RARE_RATE ? surpriseScore(m.today, rate, 60) : 0);
    const runScore = p.maxRun >= MIN_RUN ? Math.min(85, 50 + 3 * (p.maxRun - MIN_RUN)) : 0;
    const score = Math.max(sweepScore, runScore);
    if (!p.escalation.shouldEmit(o.day, score)) return undefined;
    return finding('enumeration', o, score, {
      summary:
        `touched ${m.today} distinct customers no case links them to on ${event.time.slice(0, 10)} (limit ${Math.round(limit.limit)}: ${describeLimit(limit)})` +
        (p.maxRun >= MIN_RUN ? `; ${p.maxRun + 1} customers in a row in ascending id order` : ''),
      counts: { distinctWithoutCase: m.today, consecutiveIds: p.maxRun },
      baseline: { ...limitBaseline(limit), usualPerDay: Math.round(rate * 100) / 100, consecutiveIdsLimit: MIN_RUN },
      samples: p.samples.list(),
    });
  }

  private step(p: Person, customer: string): void {
    const n = trailingNumber(customer);
    const d = n !== undefined && p.lastNumber !== undefined ? n - p.lastNumber : 0;
    // Ascending only: going back to a customer just seen is ordinary, walking forward in order is not.
    if (d !== 0) {
      p.run = d > 0 && d <= MAX_STEP ? p.run + 1 : 0;
      p.maxRun = Math.max(p.maxRun, p.run);
    }
    if (n !== undefined) p.lastNumber = n;
  }

  private person(o: Observation): Person {
    const p = this.people.of(o);
    if (p.runDay !== o.day) {
      p.runDay = o.day;
      p.run = 0;
      p.maxRun = 0;
    }
    return p;
  }
}

/** The number an id ends with ("cus-000123" → 123), if it ends with one. */
export function trailingNumber(id: string): number | undefined {
  let i = id.length;
  while (i > 0 && id.charCodeAt(i - 1) >= 48 && id.charCodeAt(i - 1) <= 57) i--;
  if (i === id.length || id.length - i > 15) return undefined;
  // Read in place (no slice to parse): 15 digits are exact in a double.
  let n = 0;
  for (let k = i; k < id.length; k++) n = n * 10 + (id.charCodeAt(k) - 48);
  return n;
}
