/**
 * Departure: the weeks around a known `leftAt` are when people take data with them. Activity
 * above the person's own normal in the 30 days before they leave raises their risk; any access
 * to customer data after they have left is a finding of its own.
 */
import type { Finding } from './alert.ts';
import { DailyMetric } from './baseline.ts';
import { Escalation, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';

const DAY = 86_400_000;
const WINDOW_DAYS = 30;
/** The samples' key once the person has left: one episode, whatever the day. */
const AFTER_LEAVING = -2;

interface Person {
  records: DailyMetric;
  samples: Samples;
  escalation: Escalation;
  /** Customer records touched since leaving (only those: not the rest of the leaving day). */
  afterLeaving: number;
}

export class DepartureDetector implements Detector {
  readonly name = 'departure' as const;
  private readonly people: PerEmployee<Person>;

  constructor(slots: Slots) {
    this.people = new PerEmployee(slots, () => ({ records: new DailyMetric(), samples: new Samples(), escalation: new Escalation(), afterLeaving: 0 }));
  }

  observe(o: Observation): Finding | undefined {
    const touched = o.event.action === 'export' && o.event.decision === 'allow' ? o.event.customers.length : o.revealed.length;
    // Nothing to count: on the day's first event the metric rolls even so (see Observation.newDay).
    if (touched === 0 && !o.newDay) return undefined;
    const p = this.person(o);
    p.records.today += touched;
    const leftAt = o.employee?.leftAt;
    if (leftAt === undefined || touched === 0) return undefined;
    const left = Date.parse(leftAt);
    const daysBefore = (left - o.ms) / DAY;
    if (daysBefore > WINDOW_DAYS) return undefined;
    let score: number;
    let summary: string;
    if (daysBefore <= 0) {
      p.afterLeaving += touched;
      p.samples.add(AFTER_LEAVING, o.ref);
      score = 80;
      summary = `touched ${p.afterLeaving} customer record${p.afterLeaving === 1 ? '' : 's'} after leaving at ${leftAt}, the latest on ${o.event.time.slice(0, 10)}`;
    } else {
      p.samples.add(o.day, o.ref);
      const own = p.records.baseline();
      if (p.records.days < 5) return undefined;
      const usual = Math.max(own.median + 3 * Math.max(own.sigma, 1), 5);
      if (p.records.today <= usual) return undefined;
      score = Math.min(45, 25 + 10 * Math.log2(p.records.today / usual));
      summary = `${Math.ceil(daysBefore)} days before leaving (${leftAt.slice(0, 10)}), touched ${p.records.today} customers' data on ${o.event.time.slice(0, 10)}, above their usual ${Math.round(own.median)} a day`;
    }
    if (!p.escalation.shouldEmit(o.day, score, 10)) return undefined;
    return finding('departure', o, score, {
      summary,
      counts: { customersToday: p.records.today, ...(daysBefore <= 0 ? { customersAfterLeaving: p.afterLeaving } : {}), daysBeforeLeaving: Math.round(daysBefore * 10) / 10 },
      baseline: { ownMedian: p.records.baseline().median, ownDays: p.records.days },
      samples: p.samples.list(),
    });
  }

  private person(o: Observation): Person {
    const p = this.people.of(o);
    p.records.roll(o.day);
    return p;
  }
}
