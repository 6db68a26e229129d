/**
 * Honest work, one person-day at a time. Support agents work cases (opened by their team lead
 * hours or days ahead, or by themselves for a call in progress): a search, masked views, then
 * reveals, follow-ups over several days, the case closed at the end. Outreach works a campaign
 * case for a list of one country's customers; investigators reveal more fields, look at related
 * accounts and export now and then; team leads handle escalations, sometimes revealing without
 * a case; the privacy and platform teams look around a little. Around that: shifts in several
 * time zones (one at night), Monday peaks, weekend rotas, vacations and sick days, new hires
 * ramping up, home and VPN networks, business trips, typos and closed cases, and one day when
 * one team's case system is down.
 */
import { eventBody, isoTime, type TimeOrderedEvents, type Via } from './write.ts';
import { DAY_MS, HOUR_MS, isWeekend, LOCATIONS, MINUTE_MS, pad, type Organisation, type SimEmployee } from './organisation.ts';
import { mixSeed, Rng } from './random.ts';

export interface SimCase {
  id: string;
  employee: SimEmployee;
  customer: number;
  openedAt: number;
  openedBy: string;
  kind: string;
  /** Work sessions still to come before it is closed. */
  sessionsLeft: number;
  /** Closed after its last session by this many minutes at most (quick calls close at once). */
  closeWithinMinutes: number;
}

/** Cases open now, per employee; each written to cases.jsonl once closed (or at the end, open). */
export class CaseBook {
  #next = 1;
  #open = new Map<number, SimCase[]>();
  #recentlyClosed = new Map<number, SimCase>();
  #openCount = 0;
  /** The most cases ever open at once: what the run's memory holds of its cases. */
  peakOpen = 0;

  constructor(private readonly org: Organisation, private readonly write: (line: string) => void) {}

  open(employee: SimEmployee, customer: number, openedAt: number, openedBy: string, kind: string, sessions: number, closeWithinMinutes: number): SimCase {
    const c: SimCase = { id: `case-${pad(this.#next++, 6)}`, employee, customer, openedAt, openedBy, kind, sessionsLeft: sessions, closeWithinMinutes };
    let list = this.#open.get(employee.index);
    if (!list) this.#open.set(employee.index, (list = []));
    list.push(c);
    if (++this.#openCount > this.peakOpen) this.peakOpen = this.#openCount;
    return c;
  }

  openOf(employee: SimEmployee): readonly SimCase[] {
    return this.#open.get(employee.index) ?? [];
  }

  recentlyClosedOf(employee: SimEmployee): SimCase | undefined {
    return this.#recentlyClosed.get(employee.index);
  }

  close(c: SimCase, at: number): void {
    const list = this.#open.get(c.employee.index)!;
    list.splice(list.indexOf(c), 1);
    this.#openCount--;
    this.#recentlyClosed.set(c.employee.index, c);
    this.#writeCase(c, at);
  }

  /** Cases still open when the window ends: written without closedAt. */
  finish(): void {
    for (const list of this.#open.values()) for (const c of list) this.#writeCase(c, undefined);
    this.#open.clear();
  }

  #writeCase(c: SimCase, closedAt: number | undefined): void {
    const closed = closedAt !== undefined && closedAt < this.org.endMs ? `,"closedAt":"${isoTime(Math.floor(closedAt))}"` : '';
    const customer = this.org.customers.ids[c.customer];
    this.write(`{"id":"${c.id}","employee":"${c.employee.id}","customer":"${customer}","openedAt":"${isoTime(Math.floor(c.openedAt))}"${closed},"kind":"${c.kind}","openedBy":"${c.openedBy}"}\n`);
  }
}

/** One person's day: whether and when they work, and from where. */
export interface WorkDay {
  day: number;
  /** UTC ms of the local midnight that starts the day. */
  midnight: number;
  working: boolean;
  /** The shift, UTC ms. */
  start: number;
  end: number;
  via: Via;
  /** The same person through their other tool. */
  alt: Via;
  rng: Rng;
}

const SUPPORT_KINDS = ['refund', 'delivery', 'account', 'complaint', 'order'];
const PAYMENT_KINDS = ['chargeback', 'payout', 'refund', 'billing'];
const INVESTIGATION_KINDS = ['fraud-review', 'account-takeover', 'abuse-report'];
const AGENT_FIELDS: ReadonlyArray<readonly string[]> = [['email'], ['email'], ['phone'], ['phone'], ['email', 'phone']];
const INVESTIGATOR_FIELDS: ReadonlyArray<readonly string[]> = [['email', 'phone'], ['name', 'address'], ['email', 'phone', 'name'], ['phone'], ['email', 'name', 'address', 'birthDate']];

/** Base tasks per day by role, before pace, Monday peaks, weekends and ramp-up. */
const TASKS_PER_DAY: Record<SimEmployee['role'], number> = { agent: 12, investigator: 6, supervisor: 5, privacy_officer: 3, admin: 2, security_analyst: 2 };

export type ExtraBehaviour = (e: SimEmployee, day: WorkDay) => void;

export class Workforce {
  readonly cases: CaseBook;

  constructor(
    private readonly org: Organisation,
    private readonly events: TimeOrderedEvents,
    writeCase: (line: string) => void,
  ) {
    this.cases = new CaseBook(org, writeCase);
    // The README's worked example: agent emp-0001 holds open case case-000001 for customer cus-000001.
    const first = org.employees[0]!;
    const lead = org.leads.get(first.team.name)?.[0]?.id ?? first.id;
    this.cases.open(first, 1, org.startMs - 2 * DAY_MS, lead, 'account', Number.POSITIVE_INFINITY, 60);
  }

  /** The day `d` of `e` (local calendar day), drawn from the employee's and the day's own stream. */
  planDay(e: SimEmployee, d: number, forceWork = false): WorkDay {
    const org = this.org;
    const rng = Rng.derive(org.size.seed, 3, e.index, d);
    const team = e.team;
    const midnight = org.startMs + d * DAY_MS - team.utcOffset * HOUR_MS;
    const start = midnight + (team.shiftStart + e.startShift + 0.3 * rng.normal()) * HOUR_MS;
    // Unusual days come from a stream of their own, so they do not reshuffle the ordinary ones.
    const unusual = Rng.derive(org.size.seed, 6, e.index, d);
    const overtime = unusual.chance(0.04) ? unusual.uniform(1, 3) : 0;
    const end = start + (team.shiftHours + overtime + 0.4 * rng.normal()) * HOUR_MS;
    const weekend = isWeekend(org.startMs + d * DAY_MS);
    const onRota = !weekend || (team.weekendShare > 0 && (Math.floor(d / 7) + e.weekendGroup) % 4 === 0 && rng.chance(Math.min(1, team.weekendShare * 4)));
    const onVacation = e.vacation !== undefined && d >= e.vacation[0] && d <= e.vacation[1];
    const sick = rng.chance(0.025);
    const employed = e.hiredAt <= start && (e.leftAt === undefined || e.leftAt > end);
    const working = employed && (forceWork || (onRota && !onVacation && !sick));
    let ip = e.officeIp;
    if (e.trip && d >= e.trip.from && d <= e.trip.to) ip = e.trip.ip;
    else if (rng.chance(e.remoteShare)) {
      ip = rng.chance(e.vpnShare) ? `172.16.${LOCATIONS.indexOf(team.location)}.${1 + rng.int(8)}` : e.homeIp;
    }
    // Now and then a network never seen before: a hotel, a café, a phone's hotspot.
    if (unusual.chance(0.01)) ip = `${unusual.pick([31, 46, 78, 91, 176, 188])}.${unusual.int(256)}.${unusual.int(256)}.${1 + unusual.int(254)}`;
    return {
      day: d, midnight, working, start, end, rng,
      via: { actor: e.id, channel: e.channel, ip },
      alt: { actor: e.id, channel: e.otherChannel, ip },
    };
  }

  /** Everything `e` does honestly on `day`. */
  work(e: SimEmployee, day: WorkDay): void {
    // On the day someone leaves, their open cases are closed (handed over) when they go.
    if (e.leftAt !== undefined && e.leftAt >= day.midnight && e.leftAt < day.midnight + DAY_MS) {
      for (const c of [...this.cases.openOf(e)]) this.cases.close(c, e.leftAt);
    }
    if (!day.working) return;
    const rng = day.rng;
    const tasks = rng.poisson(TASKS_PER_DAY[e.role] * e.pace * this.#loadFactor(e, day));
    const times = taskTimes(rng, day, tasks);
    if (e.role === 'supervisor') {
      for (const t of times) this.#escalation(e, day, t);
      return;
    }
    switch (e.team.work) {
      case 'support':
        for (const t of times) this.#supportTask(e, day, t);
        break;
      case 'outreach':
        this.#campaign(e, day);
        for (const t of times.slice(0, Math.ceil(times.length / 2))) this.#supportTask(e, day, t);
        break;
      case 'investigation':
        for (const t of times) this.#investigationTask(e, day, t);
        if (rng.chance(0.08 * e.pace)) this.#investigationExport(e, day);
        break;
      case 'oversight':
        for (const t of times) this.#lookAround(e, day, t);
        if (e.role === 'privacy_officer') this.#subjectAccessRequests(e, day);
        break;
    }
  }

  #loadFactor(e: SimEmployee, day: WorkDay): number {
    const weekday = new Date(this.org.startMs + day.day * DAY_MS).getUTCDay();
    let f = weekday === 1 ? 1.35 : weekday === 5 ? 0.9 : weekday === 0 || weekday === 6 ? 0.7 : 1;
    const tenureDays = (day.start - e.hiredAt) / DAY_MS;
    if (tenureDays < 28) f *= 0.25 + 0.75 * (tenureDays / 28);
    return f;
  }

  #purpose(e: SimEmployee, day: WorkDay, c: SimCase): string | undefined {
    // The outage: that team's tool cannot attach a case that day, so its reveals carry none.
    return this.org.outage.day === day.day && this.org.outage.team === e.team.name ? undefined : c.id;
  }

  #customerFor(e: SimEmployee, rng: Rng): number {
    return rng.pick(this.org.customers.servedByCountry.get(rng.pick(e.team.countries))!);
  }

  #newCase(e: SimEmployee, day: WorkDay, t: number, kinds: readonly string[], customer: number, sessionsMean: number): SimCase {
    const rng = day.rng;
    const leads = this.org.leads.get(e.team.name);
    const byLead = leads?.length && rng.chance(0.7);
    if (byLead) {
      const lead = rng.pick(leads);
      return this.cases.open(e, customer, t - rng.uniform(0.3, 30) * HOUR_MS, lead.id, rng.pick(kinds), 1 + rng.poisson(sessionsMean), rng.between(10, 240));
    }
    // Self-opened for a call in progress: moments before the work; a quick call closes at once.
    const quick = rng.chance(0.3);
    return this.cases.open(e, customer, t - rng.uniform(1, 12) * MINUTE_MS, e.id, rng.pick(kinds), quick ? 1 : 1 + rng.poisson(sessionsMean), quick ? rng.between(1, 20) : rng.between(10, 240));
  }

  #endSession(c: SimCase, t: number, rng: Rng): void {
    c.sessionsLeft--;
    if (c.sessionsLeft <= 0) this.cases.close(c, t + rng.uniform(1, c.closeWithinMinutes) * MINUTE_MS);
  }

  #supportTask(e: SimEmployee, day: WorkDay, t: number): void {
    const rng = day.rng;
    const v = rng.chance(0.08) ? day.alt : day.via;
    const ids = this.org.customers.ids;
    const open = this.cases.openOf(e);
    // A reveal on a case that was closed meanwhile: refused, then the agent moves on.
    const closed = this.cases.recentlyClosedOf(e);
    if (closed && rng.chance(0.006)) {
      this.events.add(t, eventBody.revealDenied(v, ids[closed.customer]!, ['email'], 'case_closed', closed.id));
      return;
    }
    let c: SimCase;
    // The longer the backlog, the more of the day goes to follow-ups: a few cases wait at a time.
    if (open.length > 0 && rng.chance(open.length / (open.length + 4))) c = rng.pick(open);
    else {
      const customer = this.#customerFor(e, rng);
      c = this.#newCase(e, day, t, e.team.name === 'payments' ? PAYMENT_KINDS : SUPPORT_KINDS, customer, 0.8);
      if (rng.chance(0.45)) t = this.#search(v, customer, t, rng);
    }
    const customer = ids[c.customer]!;
    const ref = this.#purpose(e, day, c);
    if (rng.chance(0.9)) {
      t += rng.uniform(5, 90) * 1000;
      this.events.add(t, eventBody.view(v, customer, ref));
    }
    if (rng.chance(0.65)) {
      t += rng.uniform(20, 300) * 1000;
      if (rng.chance(0.01)) {
        // Asked for a field the role may not see (a slip), then for the right one.
        this.events.add(t, eventBody.revealDenied(v, customer, ['name'], 'field_not_allowed', ref));
        t += rng.uniform(5, 40) * 1000;
      }
      this.events.add(t, eventBody.reveal(v, customer, rng.pick(AGENT_FIELDS), ref));
      if (rng.chance(0.15)) {
        t += rng.uniform(1, 20) * MINUTE_MS;
        this.events.add(t, eventBody.reveal(v, customer, rng.pick(AGENT_FIELDS), ref));
      }
    }
    if (rng.chance(0.12)) {
      t += rng.uniform(1, 10) * MINUTE_MS;
      this.events.add(t, eventBody.update(v, customer, ref));
    }
    if (rng.chance(0.25)) {
      t += rng.uniform(1, 30) * MINUTE_MS;
      this.events.add(t, eventBody.view(v, customer, ref));
    }
    this.#endSession(c, t, rng);
  }

  /** A directory search that finds `customer`, sometimes after a typo that finds nobody. Returns the time after it. */
  #search(v: Via, customer: number, t: number, rng: Rng): number {
    const kind = rng.chance(0.6) ? 'email' : 'phone';
    if (rng.chance(0.08)) {
      this.events.add(t, eventBody.search(v, kind, probeHash(this.org.size.seed, kind, -1 - rng.int(1 << 30)), []));
      t += rng.uniform(10, 60) * 1000;
    }
    const hash = probeHash(this.org.size.seed, kind, customer);
    const hits = [this.org.customers.ids[customer]!];
    this.events.add(t, eventBody.search(v, kind, hash, hits));
    // The customer calls back: the same search again later (a stream of its own keeps other draws).
    const callback = Rng.derive(this.org.size.seed, 8, customer, Math.floor(t));
    for (let k = callback.chance(0.1) ? callback.between(1, 3) : 0; k > 0; k--) {
      this.events.add(t + callback.uniform(2, 180) * MINUTE_MS, eventBody.search(v, kind, hash, hits));
    }
    return t;
  }

  /** Proactive outreach: a campaign case opened hours ahead, used for a list of one country's customers. */
  #campaign(e: SimEmployee, day: WorkDay): void {
    const rng = day.rng;
    if (!rng.chance(0.8)) return;
    const country = rng.pick(e.team.countries);
    const list = rng.sample(this.org.customers.servedByCountry.get(country)!, rng.between(8, 25));
    const leads = this.org.leads.get(e.team.name);
    const openedBy = leads?.length && rng.chance(0.7) ? rng.pick(leads).id : e.id;
    const c = this.cases.open(e, list[0]!, day.start - rng.uniform(2, 20) * HOUR_MS, openedBy, 'outreach', 1, 60);
    const ref = this.#purpose(e, day, c);
    let t = day.start + rng.uniform(0.2, 1) * HOUR_MS;
    const step = (day.end - t) / (list.length + 1);
    for (const i of list) {
      const customer = this.org.customers.ids[i]!;
      if (rng.chance(0.6)) this.events.add(t, eventBody.view(day.via, customer, ref));
      t += rng.uniform(10, 120) * 1000;
      this.events.add(t, eventBody.reveal(day.via, customer, rng.pick(AGENT_FIELDS), ref));
      t += step * rng.uniform(0.3, 1.2);
    }
    this.#endSession(c, Math.min(t, day.end), rng);
  }

  #investigationTask(e: SimEmployee, day: WorkDay, t: number): void {
    const rng = day.rng;
    const v = rng.chance(0.15) ? day.alt : day.via;
    const ids = this.org.customers.ids;
    const open = this.cases.openOf(e);
    let c: SimCase;
    if (open.length > 0 && rng.chance(open.length / (open.length + 6))) c = rng.pick(open);
    else {
      const customer = this.#customerFor(e, rng);
      c = this.#newCase(e, day, t, INVESTIGATION_KINDS, customer, 2);
      if (rng.chance(0.3)) t = this.#search(v, customer, t, rng);
    }
    const ref = this.#purpose(e, day, c);
    const customer = ids[c.customer]!;
    for (let k = rng.between(1, 3); k > 0; k--) {
      t += rng.uniform(10, 240) * 1000;
      this.events.add(t, eventBody.view(v, customer, ref));
    }
    if (rng.chance(0.7)) {
      t += rng.uniform(30, 600) * 1000;
      this.events.add(t, eventBody.reveal(v, customer, rng.pick(INVESTIGATOR_FIELDS), ref));
    }
    // Related accounts (a fraud ring): looked at, sometimes revealed, under the same case.
    for (let k = rng.poisson(1.2); k > 0; k--) {
      const other = ids[this.#customerFor(e, rng)]!;
      t += rng.uniform(20, 300) * 1000;
      this.events.add(t, eventBody.view(v, other, ref));
      if (rng.chance(0.3)) this.events.add(t + rng.uniform(10, 120) * 1000, eventBody.reveal(v, other, rng.pick(INVESTIGATOR_FIELDS), ref));
    }
    this.#endSession(c, t, rng);
  }

  /** A legitimate bulk export: the accounts of one investigation, for a report or a takedown. */
  #investigationExport(e: SimEmployee, day: WorkDay): void {
    const rng = day.rng;
    const open = this.cases.openOf(e);
    if (open.length === 0) return;
    const c = rng.pick(open);
    const country = rng.pick(e.team.countries);
    const customers = rng.sample(this.org.customers.servedByCountry.get(country)!, Math.round(20 * rng.logNormal(1)) + 5).map((i) => this.org.customers.ids[i]!);
    const t = rng.uniform(day.start, day.end);
    const v = { ...day.via, channel: 'api' };
    this.events.add(t, eventBody.export(v, customers, ['email', 'phone', 'name'], this.#purpose(e, day, c)));
  }

  /** A team lead's escalation: a look at the customer, now and then a reveal with no case of their own. */
  #escalation(e: SimEmployee, day: WorkDay, t: number): void {
    const rng = day.rng;
    const v = rng.chance(0.25) ? day.alt : day.via;
    const i = this.#customerFor(e, rng);
    const customer = this.org.customers.ids[i]!;
    if (rng.chance(0.3)) t = this.#search(v, i, t, rng);
    this.events.add(t + rng.uniform(5, 60) * 1000, eventBody.view(v, customer));
    if (rng.chance(0.15)) this.events.add(t + rng.uniform(60, 600) * 1000, eventBody.reveal(v, customer, rng.pick(AGENT_FIELDS)));
  }

  /**
   * Data-subject access requests: the privacy officer opens a case for the customer who asked
   * and exports everything held about them, a few times a week.
   */
  #subjectAccessRequests(e: SimEmployee, day: WorkDay): void {
    const rng = Rng.derive(this.org.size.seed, 7, e.index, day.day);
    for (let k = rng.poisson(0.5); k > 0; k--) {
      const t = rng.uniform(day.start, day.end);
      const i = this.#customerFor(e, rng);
      const c = this.cases.open(e, i, t - rng.uniform(5, 120) * MINUTE_MS, e.id, 'dsar', 1, 60);
      const customer = this.org.customers.ids[i]!;
      this.events.add(t, eventBody.view(day.via, customer, c.id));
      this.events.add(t + rng.uniform(1, 10) * MINUTE_MS, eventBody.export(day.via, [customer], ['email', 'phone', 'name', 'address'], c.id));
      this.#endSession(c, t + 15 * MINUTE_MS, rng);
    }
  }

  /** Privacy officers and admins: a few masked looks (complaints, data-subject requests, support of the tools). */
  #lookAround(e: SimEmployee, day: WorkDay, t: number): void {
    const rng = day.rng;
    const i = this.#customerFor(e, rng);
    if (rng.chance(0.4)) t = this.#search(day.via, i, t, rng);
    this.events.add(t + rng.uniform(5, 60) * 1000, eventBody.view(day.via, this.org.customers.ids[i]!));
  }
}

/** `n` sorted times within the shift, around a lunch break. */
export function taskTimes(rng: Rng, day: WorkDay, n: number): number[] {
  const lunch = 0.75 * HOUR_MS;
  const lunchAt = (day.end - day.start) / 2;
  const span = Math.max(HOUR_MS, day.end - day.start - lunch);
  const times: number[] = [];
  for (let k = 0; k < n; k++) {
    const u = rng.next() * span;
    times.push(day.start + (u > lunchAt ? u + lunch : u));
  }
  return times.sort((a, b) => a - b);
}

/** The keyed hash a search of customer `i`'s e-mail or phone records (equal queries, equal hashes). */
export function probeHash(seed: number, kind: 'email' | 'phone', i: number): string {
  const k = kind === 'email' ? 1 : 2;
  let hex = '';
  for (let part = 0; part < 2; part++) hex += mixSeed(seed, 7, k, i, part).toString(16).padStart(8, '0');
  return hex;
}
