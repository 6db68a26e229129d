/**
 * The detection engine: access events in, alerts out, one event at a time in ledger (or time)
 * order. The same engine runs live (a subscriber of the ordered stream inside `custos serve`)
 * and in batch (`custos detect` over files), so the same events give the same alerts. State is
 * per employee, per peer group and per customer (the directory), never per event.
 */
import type { Alert, DetectorName, EventRef, Finding } from './alert.ts';
import { aliasOf, DEFAULT_ALIAS_KEY } from './alias.ts';
import { peerKey } from './baseline.ts';
import { BulkExportDetector } from './bulk-export.ts';
import { CanaryDetector } from './canary.ts';
import { DepartureDetector } from './departure.ts';
import { ActorState, justified, Slots, type Detector, type Observation, type ObservedEvent } from './detector.ts';
import type { Directory, DirectoryCase, DirectoryEmployee } from './directory.ts';
import { EnumerationDetector } from './enumeration.ts';
import { NoPurposeDetector } from './no-purpose.ts';
import { PlaceMap, type KnownPlace } from './places.ts';
import { ProbingDetector } from './probing.ts';
import { PurposeQualityDetector } from './purpose-quality.ts';
import { RiskScorer } from './risk.ts';
import { TeamWide } from './team-wide.ts';
import { TimePlaceDetector } from './time-place.ts';
import { VipDetector } from './vip.ts';
import { VolumeDetector } from './volume.ts';

export interface DetectionOptions {
  /** Risk (0–100) at which an alert is raised; default 50. */
  threshold?: number;
  /** Half-life of a finding's weight in the risk, hours; default 48. */
  halfLifeHours?: number;
  /** Key of the analyst-facing alias (a secret in deployments). */
  aliasKey?: string | Uint8Array;
  /** Only these detectors (default: all). */
  detectors?: readonly DetectorName[];
  /** Every finding as it is made, alert or not (risk history, tuning). */
  onFinding?: (finding: Finding) => void;
  /** The operator's networks and their places (loadPlaces): time and place then checks impossible travel. */
  places?: readonly KnownPlace[];
}

/** A directory the stream's own management events keep current (MemoryDirectory is one). */
export interface LiveDirectory extends Directory {
  applyManagementEvent?(event: ObservedEvent): boolean;
}

/** The ten detectors, their per-employee state in slots handed out by `slots`; `places` for time and place's travel. */
export function allDetectors(slots: Slots, places?: PlaceMap): Detector[] {
  return [
    new CanaryDetector(),
    new NoPurposeDetector(slots),
    new PurposeQualityDetector(slots),
    new VolumeDetector(slots),
    new EnumerationDetector(slots),
    new TimePlaceDetector(slots, places),
    new BulkExportDetector(slots),
    new DepartureDetector(slots),
    new VipDetector(slots),
    new ProbingDetector(slots),
  ];
}

const DATA_ACTIONS = new Set(['view', 'reveal', 'search', 'export']);

export class DetectionEngine {
  private readonly detectors: Detector[];
  private readonly scorer: RiskScorer;
  private readonly aliases = new Map<string, string>();
  /** Each actor's state, shared by the detectors: one lookup per event. */
  private readonly actors = new Map<string, ActorState>();
  private readonly teamWide = new TeamWide();
  private readonly aliasKey: string | Uint8Array;
  private observed = 0;
  private last: ObservedEvent | undefined;
  private readonly onFinding: ((finding: Finding) => void) | undefined;

  constructor(
    private readonly directory: LiveDirectory,
    options: DetectionOptions = {},
  ) {
    const only = options.detectors;
    const places = options.places && options.places.length > 0 ? new PlaceMap(options.places) : undefined;
    this.detectors = allDetectors(new Slots(), places).filter((d) => !only || only.includes(d.name));
    this.aliasKey = options.aliasKey ?? DEFAULT_ALIAS_KEY;
    this.onFinding = options.onFinding;
    this.scorer = new RiskScorer({
      ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
      ...(options.halfLifeHours !== undefined ? { halfLifeHours: options.halfLifeHours } : {}),
      alias: (e) => this.alias(e),
    });
  }

  /** Events observed so far. */
  get count(): number {
    return this.observed;
  }

  get threshold(): number {
    return this.scorer.threshold;
  }

  /** The stable analyst-facing alias of an employee. */
  alias(employee: string): string {
    let a = this.aliases.get(employee);
    if (a === undefined) {
      a = aliasOf(employee, this.aliasKey);
      this.aliases.set(employee, a);
    }
    return a;
  }

  /** An employee's current risk and the detectors behind it. */
  risk(employee: string, at: string): ReturnType<RiskScorer['risk']> {
    return this.scorer.risk(employee, Date.parse(at));
  }

  /** Observes one event; returns the alerts it raised or updated (usually none). */
  observe(event: ObservedEvent): Alert[] {
    this.observed++;
    // A case opened or an employee changed is known from its place in the stream on.
    if (event.target && event.change) this.directory.applyManagementEvent?.(event);
    const o = this.observation(event);
    const alerts: Alert[] = [];
    this.last = event;
    for (const f of this.teamWide.due(o.ms, event.time)) this.score(f, o.ms, f.employee === event.actor ? o.employee : this.directory.employee(f.employee), alerts);
    for (const d of this.detectors) {
      const found = d.observe(o);
      const f = found && this.teamWide.offer(found, o.ms, o.peer);
      if (f) this.score(f, o.ms, o.employee, alerts);
    }
    return alerts;
  }

  /**
   * The end of the input (batch): findings still held back are given now, at the last event's
   * time. Live, the next events release them instead.
   */
  flush(): Alert[] {
    const alerts: Alert[] = [];
    if (this.last) for (const f of this.teamWide.due(Number.POSITIVE_INFINITY, this.last.time)) this.score(f, Date.parse(this.last.time), this.directory.employee(f.employee), alerts);
    return alerts;
  }

  private score(f: Finding, ms: number, employee: DirectoryEmployee | undefined, alerts: Alert[]): void {
    this.onFinding?.(f);
    const alert = this.scorer.add(f, ms, employee);
    if (!alert) return;
    // One entry per alert per event: the latest state after every finding of this event.
    const at = alerts.findIndex((a) => a.id === alert.id);
    if (at >= 0) alerts[at] = alert;
    else alerts.push(alert);
  }

  /**
   * Access under an open case of the actor's own has a stated purpose even when the customer is
   * not the case's: an investigation's related accounts, an outreach campaign's list, an export.
   * Whether one case is stretched over too many customers is purpose quality's question (and an
   * export's size, bulk export's), measured against peers who do the same honestly.
   */
  private underOwnOpenCase(event: ObservedEvent, actor: ActorState, purposeCase: DirectoryCase | undefined, ms: number): boolean {
    return purposeCase !== undefined && purposeCase.employee === event.actor && actor.caseOpenAt(purposeCase, ms, CASE_TIME_SLACK);
  }

  private observation(event: ObservedEvent): Observation {
    const ms = Date.parse(event.time);
    const actor = this.actor(event.actor);
    const employee = actor.employee as DirectoryEmployee | undefined;
    const revealed =
      event.decision === 'allow' && DATA_ACTIONS.has(event.action) && (event.action === 'reveal' || event.action === 'export' || event.fields.length > 0) ? event.customers : NONE;
    // Looked up only for what a purpose is asked to justify: half the lookups, in a directory of millions of cases.
    const purposeCase: DirectoryCase | undefined = revealed.length > 0 && event.purpose?.kind === 'case' ? actor.case(this.directory, event.purpose.ref) : undefined;
    const unjustified = revealed.length === 0 || this.underOwnOpenCase(event, actor, purposeCase, ms) ? NONE : this.unjustified(actor, revealed, purposeCase, ms);
    // Key order as before (id, time, seq): the ref is part of the alerts' evidence.
    const ref: EventRef = event.seq !== undefined ? { id: event.id, time: event.time, seq: event.seq } : { id: event.id, time: event.time };
    if (event.details?.ingested === true && typeof event.details.source === 'string') ref.source = event.details.source;
    const day = actor.clock.dayOf(ms);
    const newDay = day > actor.lastDay;
    if (newDay) actor.lastDay = day;
    return {
      event,
      actor,
      ref,
      ms,
      day,
      newDay,
      hour: Math.floor((ms % 86_400_000) / 3_600_000),
      employee,
      peer: actor.peer,
      role: actor.role,
      revealed,
      unjustified,
      purposeCase,
      directory: this.directory,
    };
  }

  /** The actor's state, its peer group taken from the directory's current record of them. */
  private actor(id: string): ActorState {
    let actor = this.actors.get(id);
    if (!actor) this.actors.set(id, (actor = new ActorState(id)));
    // Looked up again only once the directory has changed.
    if (actor.employeeVersion === this.directory.version) return actor;
    actor.employeeVersion = this.directory.version;
    const employee = this.directory.employee(id);
    if (employee !== actor.employee) {
      // New, or the record was replaced (a management event): the same key strings while it
      // stays, so the detectors' group maps hash them once.
      actor.employee = employee;
      actor.role = employee?.role ?? '(unknown)';
      actor.peer = peerKey(employee?.team ?? '(unknown)', actor.role);
    }
    return actor;
  }

  /** Of the customers revealed, those no open case links to the actor (the list itself when none is). */
  private unjustified(actor: ActorState, revealed: readonly string[], purposeCase: DirectoryCase | undefined, ms: number): readonly string[] {
    let out: string[] | undefined;
    for (let i = 0; i < revealed.length; i++) {
      const c = revealed[i] as string;
      if (justified(this.directory, actor, c, purposeCase, ms)) {
        out ??= revealed.slice(0, i);
      } else if (out) out.push(c);
    }
    return out ?? revealed;
  }
}

const NONE: readonly string[] = [];
/** Tools attach a case a little before it is formally opened or after it is closed; a day of slack. */
const CASE_TIME_SLACK = 86_400_000;
