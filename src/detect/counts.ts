/**
 * A daily count per employee compared with their own history and their peers': the shape most
 * detectors share (reveals without purpose, distinct customers revealed, records exported,
 * denials). Peers are the same team and role; when that group is too small to say what is
 * normal, the same role across teams. New hires (too few days of their own) are held to their
 * peers alone.
 */
import { DailyMetric, percentile, type Robust } from './baseline.ts';
import { PerEmployee, type Observation, type Slots } from './detector.ts';

export interface CountLimitsOptions {
  /** Robust σ's above the own median. */
  k: number;
  /** No limit below this. */
  floor: number;
  /** Multiple of the peers' high level (see PeerLevel). */
  peerFactor: number;
  /** Own active days needed before the own baseline counts. */
  minOwnDays?: number;
}

export interface Limit {
  limit: number;
  own: Robust;
  ownLimit: number | undefined;
  /** The peers' high level: the 75th percentile, across members, of each member's own 95th-percentile day. */
  peerLevel: number;
  /** Members behind peerLevel. */
  peers: number;
  peerLimit: number;
  /** The peer group compared with: team and role, or the role across teams. */
  peerScope: 'team' | 'role';
}

/** Members with enough days of their own before a group says what is normal. */
const MIN_PEERS = 4;
/** Up to this many a day on average, an act is rare enough for a Poisson surprise to mean something. */
export const RARE_RATE = 0.3;
const MIN_MEMBER_DAYS = 5;

type Window = 'day' | 'week';

interface Level {
  day: number;
  level: number;
  meanLevel: number;
  peers: number;
}

/** A peer group: its members' metrics and its levels of the last few days. */
interface Group {
  scope: 'team' | 'role';
  members: Set<DailyMetric>;
  levels: Record<Window, Map<number, Level>>;
}

/**
 * One employee's count, and the groups they are compared with (looked up again when their peer
 * group changes): one object, since it is reached on every event of theirs.
 */
class Member extends DailyMetric {
  constructor(
    public peer: string,
    public team: Group | undefined,
    public role: string,
    public roleGroup: Group,
  ) {
    super();
  }
}

export class CountLimits {
  private readonly people: PerEmployee<Member>;
  private readonly groups = new Map<string, Group>();

  constructor(
    slots: Slots,
    private readonly options: CountLimitsOptions,
  ) {
    this.people = new PerEmployee(slots, (o) => {
      const team = this.group(`t\u0000${o.peer}`, 'team');
      const roleGroup = this.group(`r\u0000${o.role}`, 'role');
      const member = new Member(o.peer, team, o.role, roleGroup);
      team.members.add(member);
      roleGroup.members.add(member);
      return member;
    });
  }

  /** The employee's metric, moved to the observation's day. */
  metric(o: Observation): DailyMetric {
    const m = this.people.of(o);
    m.roll(o.day);
    return m;
  }

  /** Today's limit for the day's count. */
  limit(o: Observation, m: DailyMetric): Limit {
    const minOwnDays = this.options.minOwnDays ?? 5;
    return this.combine(o, 'day', m.baseline(), m.days >= minOwnDays ? m.limit(this.options.k, this.options.floor) : undefined, this.options.floor);
  }

  /** Today's limit for the 7-active-day total ending today (slow patterns: a few a day, every day). */
  weeklyLimit(o: Observation, m: DailyMetric, floor: number): Limit {
    const own = m.weeklyBaseline();
    const minOwnDays = this.options.minOwnDays ?? 5;
    return this.combine(o, 'week', own, own.days >= minOwnDays ? m.weeklyLimit(this.options.k, floor) : undefined, floor);
  }

  /**
   * What today's daily limit takes from outside the person's own metric: the same object for as
   * long as their peer group and its level for the day stay the same (and the same lookups as
   * `limit` makes, so asking first changes nothing).
   */
  peerLevel(o: Observation): object {
    return this.level(this.groupOf(o), o.day, 'day');
  }

  private group(key: string, scope: Group['scope']): Group {
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { scope, members: new Set(), levels: { day: new Map(), week: new Map() } }));
    return g;
  }

  /**
   * The team and role, unless the team has too few of that role to compare with: then the role
   * across teams. A team large enough whose members are still new is waited for, not replaced.
   */
  private groupOf(o: Observation): Group {
    const member = this.people.of(o);
    // The groups of the person's current team and role (their record may have changed since they joined).
    if (member.peer !== o.peer || member.team === undefined) {
      member.peer = o.peer;
      member.team = this.groups.get(`t\u0000${o.peer}`);
    }
    if (member.team !== undefined && member.team.members.size >= MIN_PEERS) return member.team;
    if (member.role !== o.role) {
      member.role = o.role;
      member.roleGroup = this.group(`r\u0000${o.role}`, 'role');
    }
    return member.roleGroup;
  }

  /**
   * The daily rate of a rare event to expect of this person: their own and their peers' usual
   * rates, and a third of their high days (counts of rare acts come in clumps, more than a
   * Poisson rate alone would allow), never below `minRate`.
   */
  rate(o: Observation, m: DailyMetric, minRate: number): number {
    // (Callers use it only in the rare regime, RARE_RATE and below: Poisson tails are far too
    // thin for counts people produce daily, whose spread is their own.)
    const peer = this.level(this.groupOf(o), o.day, 'day');
    const own = m.days >= (this.options.minOwnDays ?? 5) ? Math.max(m.mean(), m.high() / 3) : 0;
    const peers = peer.peers >= MIN_PEERS ? Math.max(peer.meanLevel, peer.level / 3) : own > 0 ? 0 : Number.POSITIVE_INFINITY;
    return Math.max(minRate, own, peers);
  }

  private combine(o: Observation, window: Window, own: Robust, ownLimit: number | undefined, floor: number): Limit {
    const group = this.groupOf(o);
    const peer = this.level(group, o.day, window);
    const peerLimit = peer.peers >= MIN_PEERS ? Math.max(floor, peer.level * this.options.peerFactor) : Number.POSITIVE_INFINITY;
    // Someone whose own normal is high is compared with themselves; someone whose peers' normal
    // is high is not flagged for reaching it; a new hire is compared with peers alone.
    const limit = ownLimit === undefined ? (Number.isFinite(peerLimit) ? peerLimit * 1.5 : Number.POSITIVE_INFINITY) : Math.max(ownLimit, Number.isFinite(peerLimit) ? peerLimit : ownLimit);
    return { limit, own, ownLimit, peerLevel: peer.level, peers: peer.peers, peerLimit, peerScope: group.scope };
  }

  /**
   * A group's high level, once a day: each member's own 95th-percentile day (or 7-day total),
   * and the 75th percentile of those across members. One member's extreme days (an insider's,
   * say) move only their own entry, never the group's level.
   */
  private level(group: Group, day: number, window: Window): Level {
    // People's days start at different hours, so two day numbers are current at once: each is
    // kept (the cache holds the group's last few days).
    const levels = group.levels[window];
    const cached = levels.get(day);
    if (cached) return cached;
    const highs: number[] = [];
    const means: number[] = [];
    for (const m of group.members) {
      if (m.days < MIN_MEMBER_DAYS) continue;
      highs.push(window === 'day' ? m.high() : m.weeklyHigh());
      means.push(m.mean());
    }
    const result = { day, level: percentile(highs, highs.length, 75), meanLevel: percentile(means, means.length, 75), peers: highs.length };
    levels.set(day, result);
    // Days before the last three are never asked for again (events come in time order): all of
    // them, not only the day three back, or each day no one asked for would stay for good.
    for (const kept of levels.keys()) if (kept <= day - 3) levels.delete(kept);
    return result;
  }
}

/** Limit numbers for evidence: what the count was compared with. */
export function limitBaseline(l: Limit): Record<string, number> {
  return { limit: round(l.limit), ownMedian: round(l.own.median), ownSigma: round(l.own.sigma), ownDays: l.own.days, peerLevel: round(l.peerLevel), peers: l.peers };
}

export function describeLimit(l: Limit): string {
  const own = l.ownLimit === undefined ? `too few days of their own to compare (${l.own.days})` : `own median ${round(l.own.median)}`;
  const peers = l.peers > 0 ? `, ${l.peers} peers' (${l.peerScope === 'team' ? 'same team and role' : 'same role'}) usual high ${round(l.peerLevel)}` : '';
  return `${own}${peers}`;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
