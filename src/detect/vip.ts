/**
 * VIP: reveals of customers flagged high-profile with no linked purpose. Measured against how
 * often the person reveals anyone without a purpose: a team lead who handles escalations will
 * meet a VIP now and then by chance; someone curious about VIPs meets far more of them than
 * chance explains (a Poisson tail over their last 7 active days).
 */
import type { Finding } from './alert.ts';
import { DailyMetric, poissonTail } from './baseline.ts';
import { Escalation, finding, PerEmployee, round1, Samples, type Detector, type Observation, type Slots } from './detector.ts';

interface Person {
  unjustified: DailyMetric;
  vips: DailyMetric;
  samples: Samples;
  escalation: Escalation;
}

export class VipDetector implements Detector {
  readonly name = 'vip' as const;
  private readonly people: PerEmployee<Person>;

  constructor(slots: Slots) {
    this.people = new PerEmployee(slots, () => ({ unjustified: new DailyMetric(), vips: new DailyMetric(), samples: new Samples(), escalation: new Escalation() }));
  }

  observe(o: Observation): Finding | undefined {
    // On the day's first event the metrics roll even so (see Observation.newDay).
    if (o.unjustified.length === 0 && !o.newDay) return undefined;
    const p = this.person(o);
    if (o.unjustified.length === 0) return undefined;
    p.unjustified.today += o.unjustified.length;
    const vips = o.unjustified.filter((c) => o.directory.customer(c)?.vip);
    if (vips.length === 0) return undefined;
    p.vips.today += vips.length;
    p.samples.add(Math.floor(o.day / 7), o.ref);
    const observed = p.vips.weekTotal();
    const unjustified = p.unjustified.weekTotal();
    const expected = Math.max(0.05, unjustified * o.directory.vipShare());
    const surprise = -Math.log10(poissonTail(observed, expected));
    const score = Math.min(90, 15 * surprise);
    if (!p.escalation.shouldEmit(o.day, score, 6)) return undefined;
    return finding('vip', o, score, {
      summary: `revealed ${observed} high-profile (VIP) customers without a linked purpose over their last 7 active days, where chance would give ${round1(expected)} among their ${unjustified} reveals without purpose`,
      counts: { vipWithoutPurpose7d: observed, withoutPurpose7d: unjustified },
      baseline: { expected: round1(expected), vipShare: round1(o.directory.vipShare() * 1000) / 1000 },
      samples: p.samples.list(),
    });
  }

  private person(o: Observation): Person {
    const p = this.people.of(o);
    p.unjustified.roll(o.day);
    p.vips.roll(o.day);
    return p;
  }
}
