/**
 * Team-wide causes: when several members of one peer group show the same finding within hours
 * of each other, the cause is likelier the team's (the case system down, a new tool rolled out,
 * a campaign) than each person's. Every finding but a canary's is held for half an hour, so the
 * first of a team to be seen is judged with the others who follow; a finding shared by two or
 * more peers is given at a quarter of its score, saying so.
 */
import type { DetectorName, Finding } from './alert.ts';

const HOUR = 3_600_000;
export const HOLD_MS = HOUR / 2;
/** Peers showing the same finding within this window make it team-wide. */
const WINDOW_MS = 4 * HOUR;
const PEERS_FOR_TEAM_WIDE = 2;

const NOTHING_DUE: readonly Finding[] = [];

interface Held {
  finding: Finding;
  since: number;
  peer: string;
}

export class TeamWide {
  /** peer group and detector → employee → when they last had that finding. */
  private readonly marks = new Map<string, Map<string, number>>();
  /** employee → detector → the finding held back. */
  private readonly held = new Map<string, Map<DetectorName, Held>>();
  /** Holds in the order they end (holds start in event order and all last HOLD_MS). */
  private queue: { employee: string; detector: DetectorName; until: number }[] = [];
  private head = 0;

  /** Takes a new finding; returns it (or its damped form) when it may be given now. */
  offer(f: Finding, ms: number, peer: string): Finding | undefined {
    if (f.detector === 'canary') return f;
    this.mark(peer, f.detector, f.employee, ms);
    let mine = this.held.get(f.employee);
    if (!mine) this.held.set(f.employee, (mine = new Map()));
    const before = mine.get(f.detector);
    const since = before && ms - before.since < WINDOW_MS ? before.since : ms;
    mine.set(f.detector, { finding: f, since, peer });
    const now = this.release(f.employee, f.detector, ms, f.at);
    if (!now && !before) this.queue.push({ employee: f.employee, detector: f.detector, until: since + HOLD_MS });
    return now;
  }

  /** Held findings whose hold is over at the event at `ms` (`at`), anyone's: given at that event. */
  due(ms: number, at: string): readonly Finding[] {
    // Usually none is: no array for that (this runs for every event).
    if (this.head >= this.queue.length || this.queue[this.head]!.until > ms) return NOTHING_DUE;
    const out: Finding[] = [];
    while (this.head < this.queue.length && this.queue[this.head]!.until <= ms) {
      const { employee, detector } = this.queue[this.head++]!;
      if (!this.held.get(employee)?.has(detector)) continue;
      const f = this.release(employee, detector, ms, at);
      if (f) out.push(f);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  private release(employee: string, detector: DetectorName, ms: number, at: string): Finding | undefined {
    const mine = this.held.get(employee)!;
    const h = mine.get(detector)!;
    const peers = this.others(h.peer, detector, employee, ms);
    if (peers < PEERS_FOR_TEAM_WIDE && ms - h.since < HOLD_MS) return undefined;
    mine.delete(detector);
    // Given now: the alert it may raise is raised at this event.
    const f = h.finding.at === at ? h.finding : { ...h.finding, at };
    if (peers < PEERS_FOR_TEAM_WIDE) return f;
    return {
      ...f,
      score: Math.round(f.score * 0.25),
      evidence: {
        ...f.evidence,
        summary: `${f.evidence.summary}; ${peers} peers (same team and role) showed the same within ${WINDOW_MS / HOUR} hours, so a team-wide cause is likelier`,
        counts: { ...f.evidence.counts, peersWithTheSameFinding: peers },
      },
    };
  }

  private mark(peer: string, detector: DetectorName, employee: string, ms: number): void {
    const key = `${peer}\u0000${detector}`;
    let m = this.marks.get(key);
    if (!m) this.marks.set(key, (m = new Map()));
    m.set(employee, ms);
  }

  private others(peer: string, detector: DetectorName, employee: string, ms: number): number {
    const m = this.marks.get(`${peer}\u0000${detector}`);
    if (!m) return 0;
    let n = 0;
    for (const [who, at] of m) if (who !== employee && at <= ms && ms - at <= WINDOW_MS) n++;
    return n;
  }
}
