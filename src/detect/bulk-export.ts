/**
 * Bulk export: customer records exported per day against the person's own exports and their
 * peers'. Investigators export in bulk as part of their work; their own history and their
 * peers' (same team and role) say how much is normal for them.
 */
import type { Finding } from './alert.ts';
import { CountLimits, describeLimit, limitBaseline } from './counts.ts';
import { Escalation, excessScore, finding, Samples, type Detector, type Observation } from './detector.ts';

interface Person {
  samples: Samples;
  escalation: Escalation;
}

export class BulkExportDetector implements Detector {
  readonly name = 'bulk_export' as const;
  private readonly limits = new CountLimits({ k: 6, floor: 40, peerFactor: 1.5 });
  private readonly people = new Map<string, Person>();

  observe(o: Observation): Finding | undefined {
    const m = this.limits.metric(o);
    if (o.event.action !== 'export' || o.event.decision !== 'allow') return undefined;
    let p = this.people.get(o.event.actor);
    if (!p) {
      p = { samples: new Samples(), escalation: new Escalation() };
      this.people.set(o.event.actor, p);
    }
    m.today += o.event.customers.length;
    p.samples.add(o.day, o.ref);
    const limit = this.limits.limit(o, m);
    const score = excessScore(m.today / limit.limit, 45, 20, 90);
    if (!p.escalation.shouldEmit(o.day, score)) return undefined;
    return finding('bulk_export', o, score, {
      summary: `exported ${m.today} customer records on ${o.event.time.slice(0, 10)}, above the limit of ${Math.round(limit.limit)} (${describeLimit(limit)})`,
      counts: { recordsExported: m.today },
      baseline: limitBaseline(limit),
      samples: p.samples.list(),
    });
  }
}
