/**
 * A simulation run: the organisation, a day at a time for every employee (honest work, then any
 * malicious acts), events written in time order as they become final, and the truth of who the
 * insiders were. Memory holds the organisation, the open cases and about a day and a half of
 * events, whatever the run's length.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { demoCustomer } from './demo-org.ts';
import { Workforce } from './behaviour.ts';
import { actMaliciously, chooseInsiders, forcesWork, type Insider, type InsiderKind } from './insiders.ts';
import { buildOrganisation, DAY_MS, employedDays, HOUR_MS, type Organisation, type SimEmployee, type SimulationSize } from './organisation.ts';
import { LineFile, TimeOrderedEvents, type PendingEvent } from './write.ts';

export interface TruthInsider {
  employee: string;
  kind: InsiderKind;
  firstMaliciousAt: string;
  firstMaliciousEventId: string;
  events: number;
}

/** truth.json: the run's size and window, and each insider with their first malicious event. */
export interface Truth {
  seed: number;
  employees: number;
  customers: number;
  days: number;
  start: string;
  end: string;
  /** Days employed within the window, summed over employees: the denominator of the false-positive rate. */
  employeeDays: number;
  insiders: TruthInsider[];
}

export interface SimulationSinks {
  customer(record: Record<string, unknown>): void;
  employee(line: string): void;
  caseLine(line: string): void;
  eventLine(line: string): void;
}

export interface SimulationResult {
  truth: Truth;
  events: number;
  /** The most events and cases held at once (the run's memory, apart from the organisation). */
  peaks: { pendingEvents: number; openCases: number };
}

/** Runs the simulation into `sinks` (synchronously: the sinks buffer their own writes). */
export function runSimulation(size: SimulationSize, sinks: SimulationSinks, onDay?: (day: number, events: number) => void): SimulationResult {
  const { org, insiders } = prepareOrganisation(size);
  const byEmployee = new Map<number, Insider>(insiders.map((i) => [i.employee.index, i]));
  for (let i = 1; i <= org.customers.count; i++) sinks.customer(customerRecord(org, i));
  for (const e of org.employees) sinks.employee(employeeLine(e));

  const first: Array<{ id: string; time: number } | undefined> = insiders.map(() => undefined);
  const counts = insiders.map(() => 0);
  const events = new TimeOrderedEvents({ write: sinks.eventLine }, org, (id, time, insider) => {
    counts[insider]!++;
    if (!first[insider]) first[insider] = { id, time };
  });
  const workforce = new Workforce(org, events, sinks.caseLine);
  const ctx = { org, cases: workforce.cases, emit: (t: number, event: PendingEvent, insider: number) => events.add(t, event, insider) };
  // Each day in the order shifts start in UTC, so case numbers grow roughly with time, as a case system's do.
  const utcShiftStart = (e: SimEmployee) => (((e.team.shiftStart - e.team.utcOffset) % 24) + 24) % 24;
  const dayOrder = [...org.employees].sort((a, b) => utcShiftStart(a) - utcShiftStart(b));
  for (let d = 0; d < size.days; d++) {
    for (const e of dayOrder) {
      const insider = byEmployee.get(e.index);
      const day = workforce.planDay(e, d, insider !== undefined && forcesWork(insider, d));
      workforce.work(e, day);
      if (insider) actMaliciously(insider, day, ctx);
    }
    // Later days' events start no earlier than the next local midnight east of UTC (+7 at most).
    events.flushBefore(org.startMs + (d + 1) * DAY_MS - 12 * HOUR_MS);
    onDay?.(d + 1, events.written);
  }
  events.finish();
  workforce.cases.finish();

  const truth: Truth = {
    seed: size.seed,
    employees: size.employees,
    customers: size.customers,
    days: size.days,
    start: new Date(org.startMs).toISOString(),
    end: new Date(org.endMs).toISOString(),
    employeeDays: Math.round(org.employees.reduce((sum, e) => sum + employedDays(e, org), 0) * 100) / 100,
    insiders: insiders.flatMap((ins) => {
      const f = first[ins.index];
      return f ? [{ employee: ins.employee.id, kind: ins.kind, firstMaliciousAt: new Date(f.time).toISOString(), firstMaliciousEventId: f.id, events: counts[ins.index]! }] : [];
    }),
  };
  return { truth, events: events.written, peaks: { pendingEvents: events.peakPending, openCases: workforce.cases.peakOpen } };
}

/** The organisation and its insiders (who set some employees' leftAt): everything but the days. */
function prepareOrganisation(size: SimulationSize): { org: Organisation; insiders: Insider[] } {
  const org = buildOrganisation(size);
  return { org, insiders: chooseInsiders(org) };
}

/** employees.jsonl's lines for a run of `size`, without running it. */
export function simulatedEmployeeLines(size: SimulationSize): string[] {
  return prepareOrganisation(size).org.employees.map(employeeLine);
}

/** The `i`th customer as customers.jsonl has it: the demo identity, with the run's VIP and canary flags. */
export function customerRecord(org: Organisation, i: number): Record<string, unknown> {
  const { id: _id, ...record } = demoCustomer(i);
  return {
    id: org.customers.ids[i],
    ...record,
    ...(org.customers.vip[i] ? { vip: true } : {}),
    ...(org.customers.canary[i] ? { canary: true } : {}),
  };
}

function employeeLine(e: SimEmployee): string {
  return `${JSON.stringify({
    id: e.id,
    name: e.name,
    team: e.team.name,
    role: e.role,
    location: e.team.location,
    hiredAt: new Date(e.hiredAt).toISOString(),
    ...(e.leftAt !== undefined ? { leftAt: new Date(e.leftAt).toISOString() } : {}),
    ...(e.manager ? { manager: e.manager } : {}),
  })}\n`;
}

export const SIMULATION_FILES = ['customers.jsonl', 'employees.jsonl', 'cases.jsonl', 'events.jsonl', 'truth.json'] as const;

/** Writes the four interchange files and truth.json into `dir` (created if missing). */
export function simulateToDirectory(size: SimulationSize, dir: string, onDay?: (day: number, events: number) => void): SimulationResult {
  mkdirSync(dir, { recursive: true });
  const files = {
    customers: new LineFile(join(dir, 'customers.jsonl')),
    employees: new LineFile(join(dir, 'employees.jsonl')),
    cases: new LineFile(join(dir, 'cases.jsonl')),
    events: new LineFile(join(dir, 'events.jsonl')),
  };
  try {
    const result = runSimulation(size, {
      customer: (record) => files.customers.write(`${JSON.stringify(record)}\n`),
      employee: (line) => files.employees.write(line),
      caseLine: (line) => files.cases.write(line),
      eventLine: (line) => files.events.write(line),
    }, onDay);
    writeTruth(dir, result.truth);
    return result;
  } finally {
    for (const f of Object.values(files)) f.close();
  }
}

export function writeTruth(dir: string, truth: Truth): void {
  writeFileSync(join(dir, 'truth.json'), `${JSON.stringify(truth, null, 2)}\n`);
}
