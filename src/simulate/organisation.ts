/**
 * The simulated organisation: teams in several time zones, employees with their own pace,
 * hours, networks, leave and tenure, and the customers they serve (a few VIPs, a few canaries).
 * Everything is drawn from the run's seed; nothing here knows about insiders or detectors.
 */
import { CUSTOMER_COUNTRIES, personName } from './demo-org.ts';
import { Rng } from './random.ts';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

export interface SimulationSize {
  employees: number;
  customers: number;
  days: number;
  seed: number;
  /** UTC midnight at which the window starts. */
  start: Date;
  /** Canaries at every this-many customers (the demo's documented placement) instead of drawn at random. */
  canaryEvery?: number;
}

/** What a team does all day; behaviour.ts gives each its routine. */
export type TeamWork = 'support' | 'outreach' | 'investigation' | 'oversight';

export interface Team {
  name: string;
  location: string;
  /** Hours east of UTC (no daylight saving: the simulator's clocks are fixed offsets). */
  utcOffset: number;
  /** Local hour the shift starts (22 for the night shift: it ends the next morning). */
  shiftStart: number;
  shiftHours: number;
  /** Share of the team on duty at weekends (a rota). */
  weekendShare: number;
  /** The customers' countries the team serves. */
  countries: readonly string[];
  work: TeamWork;
}

const EU = ['GB', 'DE', 'FR', 'IT', 'ES'];
const AMERICAS = ['US', 'CA', 'BR'];
const APAC = ['ID', 'JP'];

export const TEAMS: readonly Team[] = [
  { name: 'support-eu', location: 'Dublin', utcOffset: 0, shiftStart: 8, shiftHours: 8.5, weekendShare: 0.25, countries: EU, work: 'support' },
  { name: 'support-us', location: 'Seattle', utcOffset: -8, shiftStart: 8, shiftHours: 8.5, weekendShare: 0.25, countries: AMERICAS, work: 'support' },
  { name: 'support-apac', location: 'Jakarta', utcOffset: 7, shiftStart: 8, shiftHours: 8.5, weekendShare: 0.25, countries: APAC, work: 'support' },
  { name: 'support-night', location: 'Dublin', utcOffset: 0, shiftStart: 22, shiftHours: 8, weekendShare: 0.3, countries: [...AMERICAS, ...APAC], work: 'support' },
  { name: 'payments', location: 'Vancouver', utcOffset: -8, shiftStart: 7, shiftHours: 8.5, weekendShare: 0, countries: [...AMERICAS, ...EU], work: 'support' },
  { name: 'outreach', location: 'Milan', utcOffset: 1, shiftStart: 9, shiftHours: 8, weekendShare: 0, countries: EU, work: 'outreach' },
  { name: 'trust-safety', location: 'Berlin', utcOffset: 1, shiftStart: 9, shiftHours: 9, weekendShare: 0.1, countries: CUSTOMER_COUNTRIES, work: 'investigation' },
  { name: 'privacy', location: 'Dublin', utcOffset: 0, shiftStart: 9, shiftHours: 8, weekendShare: 0, countries: CUSTOMER_COUNTRIES, work: 'oversight' },
  { name: 'platform', location: 'Dublin', utcOffset: 0, shiftStart: 9, shiftHours: 8, weekendShare: 0, countries: CUSTOMER_COUNTRIES, work: 'oversight' },
  { name: 'security', location: 'Berlin', utcOffset: 1, shiftStart: 9, shiftHours: 8, weekendShare: 0, countries: CUSTOMER_COUNTRIES, work: 'oversight' },
];

/** Agents' teams and their shares of the agents. */
const AGENT_TEAMS: Array<[string, number]> = [
  ['support-eu', 0.3], ['support-us', 0.22], ['support-apac', 0.15], ['support-night', 0.1], ['payments', 0.11], ['outreach', 0.12],
];

export const LOCATIONS = [...new Set(TEAMS.map((t) => t.location))];

export interface SimEmployee {
  index: number;
  id: string;
  name: string;
  role: 'agent' | 'investigator' | 'supervisor' | 'privacy_officer' | 'admin' | 'security_analyst';
  team: Team;
  manager?: string;
  hiredAt: number;
  leftAt?: number;
  /** Multiplier of the role's daily workload (some people simply do more). */
  pace: number;
  /** Personal shift offset from the team's start, in hours. */
  startShift: number;
  /** Share of days worked from home, and of those through the VPN. */
  remoteShare: number;
  vpnShare: number;
  officeIp: string;
  homeIp: string;
  /** The tool the person uses most; a second one now and then. */
  channel: string;
  otherChannel: string;
  /** Which weekends of a rota of four the person works (support teams). */
  weekendGroup: number;
  /** Days (window indexes, inclusive) on vacation. */
  vacation?: [number, number];
  /** A business trip: days worked from another office's network. */
  trip?: { from: number; to: number; ip: string };
}

/** Customer indexes are 1-based, as their ids (`cus-000001`). */
export interface SimCustomers {
  count: number;
  ids: string[];
  country: string[];
  vip: Uint8Array;
  canary: Uint8Array;
  /** Non-canary customers of each country: who honest work reaches. */
  servedByCountry: Map<string, number[]>;
  vips: number[];
  canaries: number[];
}

export interface Organisation {
  size: SimulationSize;
  startMs: number;
  endMs: number;
  employees: SimEmployee[];
  customers: SimCustomers;
  /** Team leads per team (supervisors). */
  leads: Map<string, SimEmployee[]>;
  /** The day the case system is down for one team, and which team. */
  outage: { day: number; team: string };
}

export const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function roleCounts(n: number): Array<[SimEmployee['role'], string, number]> {
  const supervisors = Math.max(1, Math.round(n / 15));
  const investigators = Math.max(1, Math.round(n / 10));
  const officers = Math.max(1, Math.round(n / 60));
  const admins = Math.max(1, Math.round(n / 60));
  const analysts = Math.max(1, Math.round(n / 100));
  return [
    ['agent', 'emp', n - supervisors - investigators - officers - admins - analysts],
    ['investigator', 'inv', investigators],
    ['supervisor', 'sup', supervisors],
    ['privacy_officer', 'dpo', officers],
    ['admin', 'adm', admins],
    ['security_analyst', 'sec', analysts],
  ];
}

function teamNamed(name: string): Team {
  return TEAMS.find((t) => t.name === name)!;
}

/** Agents spread over the agent teams by share, deterministically by their number. */
function agentTeam(n: number, count: number): Team {
  const position = (n - 1 + 0.5) / count;
  let acc = 0;
  for (const [name, share] of AGENT_TEAMS) {
    acc += share;
    if (position < acc) return teamNamed(name);
  }
  return teamNamed(AGENT_TEAMS[AGENT_TEAMS.length - 1]![0]);
}

/** Ids whose records the README and the tests name: always ordinary, long-standing and active. */
export const RESERVED_PER_ROLE = 10;

export function buildOrganisation(size: SimulationSize): Organisation {
  const startMs = size.start.getTime();
  const endMs = startMs + size.days * DAY_MS;
  const rng = Rng.derive(size.seed, 1);
  const employees: SimEmployee[] = [];
  const locationIndex = (loc: string) => LOCATIONS.indexOf(loc);
  for (const [role, prefix, count] of roleCounts(size.employees)) {
    for (let n = 1; n <= count; n++) {
      const team =
        role === 'agent' ? agentTeam(n, count)
        : role === 'investigator' ? teamNamed('trust-safety')
        : role === 'privacy_officer' ? teamNamed('privacy')
        : role === 'admin' ? teamNamed('platform')
        : role === 'security_analyst' ? teamNamed('security')
        : teamNamed([...AGENT_TEAMS.map(([t]) => t), 'trust-safety'][(n - 1) % (AGENT_TEAMS.length + 1)]!);
      const index = employees.length;
      const reserved = n <= RESERVED_PER_ROLE;
      // Tenure: most were hired years ago; a few join during the window and ramp up; a few leave.
      const newHire = !reserved && rng.chance(0.04);
      const hiredAt = newHire
        ? startMs + rng.between(1, Math.max(1, size.days - 2)) * DAY_MS + 8 * HOUR_MS
        : startMs - rng.between(30, 3000) * DAY_MS;
      const leaves = !reserved && !newHire && rng.chance(0.03);
      const leftAt = leaves ? startMs + rng.between(2, Math.max(2, size.days - 1)) * DAY_MS + 17 * HOUR_MS : undefined;
      const remote = role === 'agent' ? rng.uniform(0, 0.6) : rng.uniform(0, 0.4);
      const channel = role === 'investigator' ? rng.pick(['web', 'web', 'api']) : role === 'admin' ? 'api' : 'web';
      const vacationLength = rng.between(4, 10);
      const vacationStart = rng.between(0, Math.max(0, size.days - 1));
      const e: SimEmployee = {
        index,
        id: `${prefix}-${pad(n, 4)}`,
        name: personName(rng),
        role,
        team,
        hiredAt,
        ...(leftAt !== undefined ? { leftAt } : {}),
        pace: rng.logNormal(0.3),
        startShift: rng.uniform(-1, 1.5),
        remoteShare: remote,
        vpnShare: rng.uniform(0, 0.3),
        officeIp: `10.${locationIndex(team.location) + 1}.${(index >> 8) & 255}.${index & 255}`,
        homeIp: homeAddress(rng),
        channel,
        otherChannel: role === 'supervisor' ? 'mobile' : role === 'investigator' ? 'api' : rng.pick(['mobile', 'web']),
        weekendGroup: rng.int(4),
        // About one vacation per four months of window.
        ...(rng.chance(Math.min(1, size.days / 120)) ? { vacation: [vacationStart, vacationStart + vacationLength - 1] as [number, number] } : {}),
      };
      if (rng.chance(Math.min(0.5, size.days / 1500))) {
        const from = rng.between(0, Math.max(0, size.days - 1));
        const elsewhere = rng.pick(LOCATIONS.filter((l) => l !== team.location));
        e.trip = { from, to: from + rng.between(1, 4), ip: `10.${locationIndex(elsewhere) + 1}.200.${rng.between(1, 254)}` };
      }
      employees.push(e);
    }
  }
  // Every run has someone new and someone leaving (each a confounder), whatever the draws gave.
  const ordinary = employees.filter((e) => e.role === 'agent' && Number(e.id.slice(4)) > RESERVED_PER_ROLE);
  if (ordinary.length >= 2 && size.days >= 4) {
    if (!employees.some((e) => e.hiredAt >= startMs)) {
      const e = rng.pick(ordinary.filter((x) => x.leftAt === undefined));
      e.hiredAt = startMs + rng.between(1, size.days - 2) * DAY_MS + 8 * HOUR_MS;
    }
    if (!employees.some((e) => e.leftAt !== undefined)) {
      const e = rng.pick(ordinary.filter((x) => x.hiredAt < startMs));
      e.leftAt = startMs + rng.between(2, size.days - 1) * DAY_MS + 17 * HOUR_MS;
    }
  }
  const leads = new Map<string, SimEmployee[]>();
  for (const e of employees) {
    if (e.role !== 'supervisor') continue;
    if (!leads.has(e.team.name)) leads.set(e.team.name, []);
    leads.get(e.team.name)!.push(e);
  }
  for (const e of employees) {
    const teamLeads = leads.get(e.team.name);
    if (e.role !== 'supervisor' && teamLeads?.length) e.manager = teamLeads[e.index % teamLeads.length]!.id;
  }
  const supportTeams = TEAMS.filter((t) => t.work === 'support' && t.name !== 'support-night');
  const outage = { day: pickWeekday(rng, size, 2), team: rng.pick(supportTeams).name };
  return { size, startMs, endMs, employees, customers: buildCustomers(size), leads, outage };
}

/** A home broadband address: stable per person, from a carrier-grade NAT range. */
function homeAddress(rng: Rng): string {
  return `100.${64 + rng.int(64)}.${rng.int(256)}.${1 + rng.int(254)}`;
}

/** A weekday (Monday–Friday) in [from, days), or `from` if there is none. */
export function pickWeekday(rng: Rng, size: SimulationSize, from: number, to = size.days - 1): number {
  const days: number[] = [];
  for (let d = from; d <= to; d++) if (!isWeekend(size.start.getTime() + d * DAY_MS)) days.push(d);
  return days.length ? rng.pick(days) : Math.min(from, size.days - 1);
}

export function isWeekend(ms: number): boolean {
  const w = new Date(ms).getUTCDay();
  return w === 0 || w === 6;
}

function buildCustomers(size: SimulationSize): SimCustomers {
  const rng = Rng.derive(size.seed, 2);
  const count = size.customers;
  const width = Math.max(6, String(count).length);
  const ids = new Array<string>(count + 1);
  const country = new Array<string>(count + 1);
  for (let i = 1; i <= count; i++) {
    ids[i] = `cus-${pad(i, width)}`;
    country[i] = CUSTOMER_COUNTRIES[i % CUSTOMER_COUNTRIES.length]!;
  }
  const vip = new Uint8Array(count + 1);
  const canary = new Uint8Array(count + 1);
  const canaries: number[] = [];
  if (size.canaryEvery) {
    for (let i = size.canaryEvery - 1; i <= count; i += size.canaryEvery) canaries.push(i);
  } else {
    // Customer 1 is the README's worked example: an ordinary customer.
    const canaryCount = Math.max(3, Math.round(count / 1000));
    while (canaries.length < canaryCount) {
      const i = rng.between(2, count);
      if (!canaries.includes(i)) canaries.push(i);
    }
  }
  for (const i of canaries) canary[i] = 1;
  const vipCount = Math.max(3, Math.round(count * 0.005));
  const vips: number[] = [];
  while (vips.length < vipCount) {
    const i = rng.between(2, count);
    if (canary[i] || vip[i]) continue;
    vip[i] = 1;
    vips.push(i);
  }
  canaries.sort((a, b) => a - b);
  vips.sort((a, b) => a - b);
  const servedByCountry = new Map<string, number[]>();
  for (const c of CUSTOMER_COUNTRIES) servedByCountry.set(c, []);
  for (let i = 1; i <= count; i++) if (!canary[i]) servedByCountry.get(country[i]!)!.push(i);
  return { count, ids, country, vip, canary, servedByCountry, vips, canaries };
}

/** Days of `e`'s employment inside the window (fractional at either end). */
export function employedDays(e: SimEmployee, org: Organisation): number {
  const from = Math.max(e.hiredAt, org.startMs);
  const to = Math.min(e.leftAt ?? org.endMs, org.endMs);
  return Math.max(0, to - from) / DAY_MS;
}
