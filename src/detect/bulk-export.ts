/**
 * Bulk export: customer records exported in a day against the days this person and their peers
 * export at all. Investigators export now and then as part of their work (a few days a month,
 * sizes with a long tail); most people never do. Compared with export days only, so the many
 * days without an export do not make every export look large.
 */
import type { Finding } from './alert.ts';
import { percentile, Ring } from './baseline.ts';
import { Escalation, excessScore, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';

interface Person {
  day: number;
  today: number;
  /** Records exported on each of this person's last 20 export days. */
  days: Ring;
  samples: Samples;
  escalation: Escalation;
}

/** Above any ordinary export day when nobody's history says otherwise. */
const FLOOR = 150;
const PEER_DAYS = 200;

export class BulkExportDetector implements Detector {
  readonly name = 'bulk_export' as const;
  private readonly people: PerEmployee<Person>;
  /** Export days of each role (sizes), across teams: exports are rare enough to pool. */
  private readonly roles = new Map<string, { ring: Ring; day: number; p99: number }>();

  constructor(slots: Slots) {
    this.people = new PerEmployee(slots, (o) => ({ day: o.day, today: 0, days: new Ring(20), samples: new Samples(), escalation: new Escalation() }));
  }

  observe(o: Observation): Finding | undefined {
    if (o.event.action !== 'export' || o.event.decision !== 'allow') return undefined;
    const p = this.person(o);
    p.today += o.event.customers.length;
    p.samples.add(o.day, o.ref);
    const own = p.days.length >= 3 ? 2 * percentile(p.days.data, p.days.length, 95) : 0;
    const peers = this.peerStats(o);
    const peerLimit = peers.n >= 10 ? 2 * peers.p99 : 0;
    const limit = Math.max(FLOOR, own, peerLimit);
    const score = excessScore(p.today / limit, 45, 20, 90);
    if (!p.escalation.shouldEmit(o.day, score)) return undefined;
    return finding('bulk_export', o, score, {
      summary: `exported ${p.today} customer records on ${o.event.time.slice(0, 10)}, above the limit of ${Math.round(limit)} (twice their own largest usual export day, ${Math.round(own / 2)}; twice the 99th percentile of their role's export days, ${Math.round(peers.p99)})`,
      counts: { recordsExported: p.today },
      baseline: { limit: Math.round(limit), ownExportDays: p.days.length, ownP95: Math.round(own / 2), peerExportDays: peers.n, peerP99: Math.round(peers.p99) },
      samples: p.samples.list(),
    });
  }

  private peerStats(o: Observation): { p99: number; n: number } {
    const g = this.roles.get(o.role);
    if (!g) return { p99: 0, n: 0 };
    if (g.day !== o.day) {
      g.day = o.day;
      g.p99 = percentile(g.ring.data, g.ring.length, 99);
    }
    return { p99: g.p99, n: g.ring.length };
  }

  private person(o: Observation): Person {
    const p = this.people.of(o);
    if (p.day !== o.day) {
      // The export day that ended joins the person's and their role's history.
      if (p.today > 0) {
        p.days.push(p.today);
        let g = this.roles.get(o.role);
        if (!g) this.roles.set(o.role, (g = { ring: new Ring(PEER_DAYS), day: -1, p99: 0 }));
        g.ring.push(p.today);
      }
      p.day = o.day;
      p.today = 0;
    }
    return p;
  }
}
