/**
 * A daily count per employee compared with their own history and their peers': the shape most
 * detectors share (reveals without purpose, distinct customers revealed, records exported,
 * denials). Peers are the same team and role; when that group is too small to say what is
 * normal, the same role across teams. New hires (too few days of their own) are held to their
 * peers alone.
 */
import { DailyMetric, PeerMetric, type Robust } from './baseline.ts';
import type { Observation } from './detector.ts';

export interface CountLimitsOptions {
  /** Robust σ's above the own median. */
  k: number;
  /** No limit below this. */
  floor: number;
  /** Multiple of the peers' 99th percentile employee-day. */
  peerFactor: number;
  /** Own active days needed before the own baseline counts. */
  minOwnDays?: number;
}

export interface Limit {
  limit: number;
  own: Robust;
  ownLimit: number | undefined;
  peerP99: number;
  peerMedian: number;
  peerSamples: number;
  peerLimit: number;
  /** The peer group compared with: team and role, or the role across teams. */
  peerScope: 'team' | 'role';
}

const MIN_PEER_SAMPLES = 30;

export class CountLimits {
  private readonly people = new Map<string, DailyMetric>();
  private readonly peers = new Map<string, PeerMetric>();
  private readonly roles = new Map<string, PeerMetric>();

  constructor(private readonly options: CountLimitsOptions) {}

  /** The employee's metric, moved to the observation's day (closed days go to the peer groups). */
  metric(o: Observation): DailyMetric {
    let m = this.people.get(o.event.actor);
    if (!m) {
      m = new DailyMetric();
      this.people.set(o.event.actor, m);
    }
    const closed = m.roll(o.day);
    if (closed !== undefined) {
      group(this.peers, o.peer).push(closed);
      group(this.roles, o.role).push(closed);
    }
    return m;
  }

  limit(o: Observation, m: DailyMetric): Limit {
    const { k, floor, peerFactor } = this.options;
    const minOwnDays = this.options.minOwnDays ?? 5;
    const team = group(this.peers, o.peer).stats(o.day);
    const peerScope = team.n >= MIN_PEER_SAMPLES ? 'team' : 'role';
    const peer = peerScope === 'team' ? team : group(this.roles, o.role).stats(o.day);
    const peerLimit = peer.n >= MIN_PEER_SAMPLES ? Math.max(floor, peer.p99 * peerFactor) : Number.POSITIVE_INFINITY;
    const own = m.baseline();
    const ownLimit = m.days >= minOwnDays ? m.limit(k, floor) : undefined;
    // Someone whose own normal is high is compared with themselves; someone whose peers' normal
    // is high is not flagged for reaching it; a new hire is compared with peers alone.
    const limit = ownLimit === undefined ? (Number.isFinite(peerLimit) ? peerLimit * 1.5 : Number.POSITIVE_INFINITY) : Math.max(ownLimit, Number.isFinite(peerLimit) ? peerLimit : ownLimit);
    return { limit, own, ownLimit, peerP99: peer.p99, peerMedian: peer.median, peerSamples: peer.n, peerLimit, peerScope };
  }
}

function group(map: Map<string, PeerMetric>, key: string): PeerMetric {
  let g = map.get(key);
  if (!g) {
    g = new PeerMetric();
    map.set(key, g);
  }
  return g;
}

/** Limit numbers for evidence: what the count was compared with. */
export function limitBaseline(l: Limit): Record<string, number> {
  const b: Record<string, number> = { limit: round(l.limit), ownMedian: round(l.own.median), ownSigma: round(l.own.sigma), ownDays: l.own.days, peerMedian: round(l.peerMedian), peerP99: round(l.peerP99), peerDays: l.peerSamples };
  return b;
}

export function describeLimit(l: Limit): string {
  const own = l.ownLimit === undefined ? `too few days of their own to compare (${l.own.days})` : `own median ${round(l.own.median)}`;
  const peers = l.peerSamples > 0 ? `, peers' (${l.peerScope === 'team' ? 'same team and role' : 'same role'}) 99th percentile ${round(l.peerP99)}` : '';
  return `${own}${peers}`;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * When peers cross their own limits too: members of one peer group marked anomalous within a
 * window. A day when the case system is down makes a whole team reveal without purpose; that is
 * the team's day, not one person's.
 */
export class PeerConcurrency {
  private readonly marks = new Map<string, Map<string, number>>();

  mark(peer: string, employee: string, ms: number): void {
    let m = this.marks.get(peer);
    if (!m) {
      m = new Map();
      this.marks.set(peer, m);
    }
    m.set(employee, ms);
  }

  /** Other members marked within `windowMs` before `ms`. */
  others(peer: string, employee: string, ms: number, windowMs: number): number {
    const m = this.marks.get(peer);
    if (!m) return 0;
    let n = 0;
    for (const [who, at] of m) if (who !== employee && ms - at <= windowMs && at <= ms) n++;
    return n;
  }
}
