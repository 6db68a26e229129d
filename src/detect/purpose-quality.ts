/**
 * Purpose quality: a case can be a fig leaf. Cases the person opened themselves moments before
 * a reveal, closed right after, with no other activity on them (fleeting cases); and one case
 * named as the purpose for many customers. Both are counted per day against the person's own
 * habits and their peers' (outreach teams legitimately reveal a list of customers under one
 * campaign case opened hours ahead; phone agents open a case as a customer calls and look at
 * the record before revealing — the peers say what is normal).
 */
import type { EventRef, Finding } from './alert.ts';
import { CountLimits, describeLimit, limitBaseline } from './counts.ts';
import type { DirectoryCase } from './directory.ts';
import { Escalation, excessScore, finding, PerEmployee, Samples, type Detector, type Observation, type Slots } from './detector.ts';

const MINUTE = 60_000;
/** Opened at most this long before the reveal, by the person revealing. */
const OPENED_BEFORE = 10 * MINUTE;
/** Closed at most this long after the reveal. */
const CLOSED_AFTER = 30 * MINUTE;
const MAX_PENDING = 64;
/** Purposes of the person's last events: what a new case was used for before its reveal. */
const RECENT_REFS = 16;

interface Pending {
  caseId: string;
  revealMs: number;
  ref: EventRef;
  /** Events naming the case as their purpose, the reveal included. */
  activity: number;
  /** When the case closed (undefined: open, or not a case), as the directory said at `version`. */
  closedMs: number | undefined;
  version: number;
}

interface Person {
  pending: Pending[];
  recentRefs: string[];
  nextRef: number;
  /** Customers revealed under each case named as purpose today (one alone as itself: most cases have one). */
  perCase: Map<string, string | Set<string>>;
  perCaseDay: number;
  samples: Samples;
  escalation: Escalation;
}

export class PurposeQualityDetector implements Detector {
  readonly name = 'purpose_quality' as const;
  private readonly fleeting: CountLimits;
  private readonly manyPerCase: CountLimits;
  private readonly people: PerEmployee<Person>;

  constructor(slots: Slots) {
    this.fleeting = new CountLimits(slots, { k: 6, floor: 3, peerFactor: 1.5 });
    this.manyPerCase = new CountLimits(slots, { k: 6, floor: 4, peerFactor: 1.5 });
    this.people = new PerEmployee(slots, (o) => ({ pending: [], recentRefs: [], nextRef: 0, perCase: new Map(), perCaseDay: o.day, samples: new Samples(), escalation: new Escalation() }));
  }

  observe(o: Observation): Finding | undefined {
    const fleeting = this.fleeting.metric(o);
    const many = this.manyPerCase.metric(o);
    const p = this.person(o);
    const ref = o.event.purpose?.ref;
    if (ref !== undefined) {
      p.recentRefs[p.nextRef] = ref;
      p.nextRef = (p.nextRef + 1) % RECENT_REFS;
      for (const x of p.pending) if (x.caseId === ref) x.activity++;
    }
    let changed = this.resolve(o, p, fleeting);
    const c = o.purposeCase;
    // An export's many customers are bulk export's concern.
    if (c && o.revealed.length > 0 && o.event.action !== 'export') {
      const customers = revealedUnder(p.perCase, c.id, o.revealed);
      if (customers > many.today) {
        many.today = customers;
        changed = true;
        p.samples.add(o.day, o.ref);
      }
      if (openedByActorJustBefore(c, o) && p.pending.length < MAX_PENDING && !p.pending.some((x) => x.caseId === c.id)) {
        p.pending.push({ caseId: c.id, revealMs: o.ms, ref: o.ref, activity: p.recentRefs.filter((r) => r === c.id).length, closedMs: closedMs(c), version: o.directory.version });
      }
    }
    if (!changed) return undefined;
    const fleetingLimit = this.fleeting.limit(o, fleeting);
    const manyLimit = this.manyPerCase.limit(o, many);
    const score = Math.max(excessScore(fleeting.today / fleetingLimit.limit, 40, 20, 85), excessScore(many.today / manyLimit.limit, 35, 20, 75));
    if (!p.escalation.shouldEmit(o.day, score)) return undefined;
    return finding('purpose_quality', o, score, {
      summary:
        `on ${o.event.time.slice(0, 10)}, ${fleeting.today} cases opened by them minutes before a reveal, closed right after and used for nothing else ` +
        `(limit ${Math.round(fleetingLimit.limit)}: ${describeLimit(fleetingLimit)}); at most ${many.today} customers revealed under one case (limit ${Math.round(manyLimit.limit)})`,
      counts: { fleetingCases: fleeting.today, maxCustomersPerCase: many.today },
      baseline: { ...limitBaseline(fleetingLimit), maxCustomersPerCaseLimit: Math.round(manyLimit.limit), peerLevelCustomersPerCase: manyLimit.peerLevel },
      samples: p.samples.list(),
    });
  }

  /** Settles reveals whose case has had time to close; true if a fleeting case was counted. */
  private resolve(o: Observation, p: Person, m: { today: number }): boolean {
    const pending = p.pending;
    if (pending.length === 0) return false;
    let counted = false;
    let kept = 0;
    for (let i = 0; i < pending.length; i++) {
      const x = pending[i] as Pending;
      // The case as the directory has it now: looked up again only once the directory changed.
      if (x.version !== o.directory.version) {
        x.version = o.directory.version;
        x.closedMs = closedMs(o.directory.case(x.caseId));
      }
      const closed = x.closedMs;
      // Only what is known by now: live, a close recorded after this event has not been seen yet.
      if (closed !== undefined && closed <= o.ms && closed - x.revealMs <= CLOSED_AFTER) {
        if (x.activity <= 1) {
          m.today++;
          counted = true;
          p.samples.add(o.day, x.ref);
        }
      } else if (o.ms - x.revealMs <= CLOSED_AFTER) pending[kept++] = x;
    }
    pending.length = kept;
    return counted;
  }

  private person(o: Observation): Person {
    const p = this.people.of(o);
    if (p.perCaseDay !== o.day) {
      p.perCaseDay = o.day;
      p.perCase.clear();
    }
    return p;
  }
}

/**
 * Adds `revealed` (not empty) to the customers revealed under case `id` today; returns how many
 * distinct ones that makes (at most 1000), or 0 once 256 cases are tracked and this is not one.
 */
function revealedUnder(perCase: Map<string, string | Set<string>>, id: string, revealed: readonly string[]): number {
  let seen = perCase.get(id);
  let from = 0;
  if (seen === undefined) {
    if (perCase.size >= 256) return 0;
    seen = revealed[0] as string;
    perCase.set(id, seen);
    from = 1;
  }
  for (let i = from; i < revealed.length; i++) {
    const customer = revealed[i] as string;
    if (typeof seen === 'string') {
      if (customer !== seen) perCase.set(id, (seen = new Set([seen, customer])));
    } else if (seen.size < 1000) seen.add(customer);
  }
  return typeof seen === 'string' ? 1 : seen.size;
}

function closedMs(c: DirectoryCase | undefined): number | undefined {
  return c?.closedAt !== undefined ? Date.parse(c.closedAt) : undefined;
}

function openedByActorJustBefore(c: DirectoryCase, o: Observation): boolean {
  const by = c.openedBy ?? c.employee;
  const opened = o.actor.caseOpenedMs(c);
  return by === o.event.actor && opened <= o.ms && o.ms - opened <= OPENED_BEFORE;
}
