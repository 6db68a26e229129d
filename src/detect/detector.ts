/**
 * What every detector sees of one event (an `Observation`, computed once per event by the
 * engine) and what it gives back (a `Finding`, or nothing). A detector keeps its own state per
 * employee and per peer group, bounded by their number.
 */
import type { AccessEvent } from '../model.ts';
import type { DetectorName, EventRef, Evidence, Finding } from './alert.ts';
import { WorkdayClock } from './baseline.ts';
import { caseOpenAt, type Directory, type DirectoryCase, type DirectoryEmployee } from './directory.ts';

export type ObservedEvent = AccessEvent & { seq?: number };

/**
 * Everything kept about one actor, reached by one map lookup per event and shared by every
 * detector: each detector's own per-employee state sits in a slot of `slots` (see PerEmployee),
 * so ten detectors cost one lookup, not ten.
 */
export class ActorState {
  /** Per-detector state, by the slot each PerEmployee was given. */
  readonly slots: unknown[] = [];
  /** Where this person's working day begins. */
  readonly clock = new WorkdayClock();
  /** The greatest day number of theirs seen so far (daily metrics roll only when it grows). */
  lastDay = Number.NEGATIVE_INFINITY;
  /** The directory record `peer` and `role` were taken from (they are recomputed when it is replaced). */
  employee: DirectoryEmployee | undefined | null = null;
  /** The directory's version when `employee` was read from it. */
  employeeVersion = -1;
  peer = '';
  role = '';
  // The last case named as a purpose and the last customer's links, kept while the directory
  // stays the same: people's events come in runs (a view, then a reveal, under one case).
  private purposeRef: string | undefined;
  private purposeCase: DirectoryCase | undefined;
  private purposeVersion = -1;
  private linkedCustomer: string | undefined;
  private linked: readonly DirectoryCase[] = [];
  private linkedVersion = -1;
  // The times of the last case asked about (a record is replaced, never changed, when the directory changes).
  private timesOf: DirectoryCase | undefined;
  private openedMs = Number.NaN;
  private closedMs: number | undefined;

  constructor(readonly id: string) {}

  /** The case `ref` names, from the directory. */
  case(directory: Directory, ref: string): DirectoryCase | undefined {
    if (ref !== this.purposeRef || directory.version !== this.purposeVersion) {
      this.purposeRef = ref;
      this.purposeVersion = directory.version;
      this.purposeCase = directory.case(ref);
    }
    return this.purposeCase;
  }

  /** caseOpenAt, the case's times read once for a run of events under it. */
  caseOpenAt(c: DirectoryCase, ms: number, slack = 0): boolean {
    this.readTimes(c);
    return this.openedMs - slack <= ms && (this.closedMs === undefined || this.closedMs + slack > ms);
  }

  /** When the case was opened, epoch ms (NaN if its openedAt does not parse). */
  caseOpenedMs(c: DirectoryCase): number {
    this.readTimes(c);
    return this.openedMs;
  }

  private readTimes(c: DirectoryCase): void {
    if (c === this.timesOf) return;
    this.timesOf = c;
    this.openedMs = Date.parse(c.openedAt);
    this.closedMs = c.closedAt === undefined ? undefined : Date.parse(c.closedAt);
  }

  /** Cases linking this actor to `customer` (any state), from the directory. */
  casesLinking(directory: Directory, customer: string): readonly DirectoryCase[] {
    if (customer !== this.linkedCustomer || directory.version !== this.linkedVersion) {
      this.linkedCustomer = customer;
      this.linkedVersion = directory.version;
      this.linked = directory.casesLinking(this.id, customer);
    }
    return this.linked;
  }
}

/** Hands out the slots of ActorState, one per PerEmployee, for one engine. */
export class Slots {
  private next = 0;
  take(): number {
    return this.next++;
  }
}

/** One detector's state per employee, held in the employee's ActorState (no map of its own). */
export class PerEmployee<T> {
  private readonly slot: number;
  constructor(
    slots: Slots,
    private readonly create: (o: Observation) => T,
  ) {
    this.slot = slots.take();
  }

  /** The actor's state, created on their first event. */
  of(o: Observation): T {
    const slots = o.actor.slots;
    let v = slots[this.slot] as T | undefined;
    if (v === undefined) {
      v = this.create(o);
      // Filled in order so that the array stays packed.
      while (slots.length < this.slot) slots.push(undefined);
      slots[this.slot] = v;
    }
    return v;
  }
}

export interface Observation {
  event: ObservedEvent;
  /** The actor's state, shared by the detectors. */
  actor: ActorState;
  ref: EventRef;
  /** Event time, epoch ms. */
  ms: number;
  /** The person's day number (see WorkdayClock) and the UTC hour of day. */
  day: number;
  hour: number;
  /**
   * Whether `day` is greater than any of the actor's before: only then does a DailyMetric's roll
   * change anything (it ignores days not past its own). A detector that has nothing to count
   * may skip its daily metrics on other events; every metric still rolls on the same events.
   */
  newDay: boolean;
  /** The actor as the directory knows them (undefined: an app or an unknown id). */
  employee: DirectoryEmployee | undefined;
  /** Peer group: same team and role. */
  peer: string;
  /** The role alone: the wider group when a team has too few of a role to compare with. */
  role: string;
  /** Customers whose personal data the event returned in clear (allowed reveals and exports). */
  revealed: readonly string[];
  /** Of `revealed`, those no open case links to this actor at this time. */
  unjustified: readonly string[];
  /** The case the stated purpose names, if it names one that exists and the event reveals customers (undefined otherwise). */
  purposeCase: DirectoryCase | undefined;
  directory: Directory;
}

export interface Detector {
  readonly name: DetectorName;
  observe(o: Observation): Finding | undefined;
}

/** Whether an open case links `actor` to `customer` at `ms`, the one named by the purpose first. */
export function justified(directory: Directory, actor: ActorState, customer: string, purposeCase: DirectoryCase | undefined, ms: number): boolean {
  if (purposeCase && purposeCase.employee === actor.id && purposeCase.customer === customer && actor.caseOpenAt(purposeCase, ms)) return true;
  for (const c of actor.casesLinking(directory, customer)) if (caseOpenAt(c, ms)) return true;
  return false;
}

/** Up to 10 events behind a finding, oldest first. */
export class Samples {
  private refs: EventRef[] = [];
  key = -1;

  /** Starts over when `key` (a day, an episode) changes. */
  add(key: number, ref: EventRef): void {
    if (key !== this.key) {
      this.key = key;
      this.refs = [];
    }
    if (this.refs.length < 10 && this.refs.at(-1)?.id !== ref.id) this.refs.push(ref);
  }

  list(): EventRef[] {
    return [...this.refs];
  }
}

export function finding(detector: DetectorName, o: Observation, score: number, evidence: Evidence): Finding {
  return { detector, score: Math.max(0, Math.min(100, Math.round(score))), at: o.event.time, employee: o.event.actor, evidence };
}

/** Score for a value `ratio` times its limit: `base` at the limit, rising with each doubling, capped. */
export function excessScore(ratio: number, base: number, perDoubling: number, cap: number): number {
  if (ratio < 1) return 0;
  return Math.min(cap, base + perDoubling * Math.log2(ratio));
}

/**
 * Emits a finding for a running count only when it first reaches its limit, and again each time
 * its score rises by a step: a hundred reveals over the limit are a few findings, not a hundred.
 */
export class Escalation {
  private day = -1;
  private last = 0;

  shouldEmit(day: number, score: number, step = 8): boolean {
    if (day !== this.day) {
      this.day = day;
      this.last = 0;
    }
    if (score <= 0 || score < this.last + step) return false;
    this.last = score;
    return true;
  }
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
