/**
 * The demo organisation `npm start` seeds into an empty store: a simulation run (see
 * simulate.ts) ending at today's UTC midnight, of 300 employees and 10,000 customers, whose
 * employees, customers and cases are stored through the same paths as an import. Its events are
 * what those people did over the last weeks, insiders included.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/store.ts';
import type { ActLogDeps, Actor } from '../broker/acts.ts';
import { storeCustomers } from '../broker/customer-writes.ts';
import { EventIngest, type IngestSummary } from '../broker/ingest.ts';
import type { Vault } from '../vault/index.ts';
import { parseCase, parseCustomer, parseEmployee, type CaseRecord, type CustomerInput, type Employee } from '../model.ts';
import { CANARY_EVERY, DEMO_CUSTOMERS } from './demo-org.ts';
import { DAY_MS, type SimulationSize } from './organisation.ts';
import { runSimulation, simulatedEmployeeLines, writeTruth, type Truth } from './simulate.ts';
import { LineFile } from './write.ts';

export const DEMO_EMPLOYEES = 300;
export const DEMO_DAYS = 21;
export const DEMO_SEED = 2026;

export interface SeedSummary {
  employees: number;
  customers: number;
  cases: number;
  canaries: number;
  /** Insiders among the simulated employees (truth.json in the files directory names them). */
  insiders: number;
}

/** The demo run's size: the DEMO_DAYS days before today's UTC midnight. */
export function demoSize(now: Date, customers = DEMO_CUSTOMERS): SimulationSize {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { employees: DEMO_EMPLOYEES, customers, days: DEMO_DAYS, seed: DEMO_SEED, start: new Date(today - DEMO_DAYS * DAY_MS), canaryEvery: CANARY_EVERY };
}

export interface DemoOrganisation {
  employees: Employee[];
  customers: CustomerInput[];
  cases: CaseRecord[];
  truth: Truth;
}

/**
 * The demo's records. With `dir`, what its people did is written there too, as events.jsonl
 * (`custos ingest events` records it) and truth.json (who the insiders were). Customers stay in
 * the vault: no file of their clear values is written.
 */
export function demoOrganisation(now: Date, customers = DEMO_CUSTOMERS, dir?: string): DemoOrganisation {
  const org: Omit<DemoOrganisation, 'truth'> = { employees: [], customers: [], cases: [] };
  let events: LineFile | undefined;
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    events = new LineFile(join(dir, 'events.jsonl'));
  }
  try {
    const { truth } = runSimulation(demoSize(now, customers), {
      customer: (record) => org.customers.push(parseCustomer(record)),
      employee: (line) => org.employees.push(parseEmployee(JSON.parse(line))),
      caseLine: (line) => org.cases.push(parseCase(JSON.parse(line))),
      eventLine: (line) => events?.write(line),
    });
    if (dir !== undefined) writeTruth(dir, truth);
    return { ...org, truth };
  } finally {
    events?.close();
  }
}

/** The demo's employees (who they are does not depend on the day). */
export function demoEmployees(now = new Date()): Employee[] {
  return simulatedEmployeeLines(demoSize(now)).map((line) => parseEmployee(JSON.parse(line)));
}

// The last demo built, by day and size: test processes seed many stores on the same day.
let lastDemo: { key: string; demo: DemoOrganisation } | undefined;

function sameDayDemo(now: Date, customers: number): DemoOrganisation {
  const key = `${demoSize(now, customers).start.toISOString()}/${customers}`;
  if (lastDemo?.key !== key) lastDemo = { key, demo: demoOrganisation(now, customers) };
  return lastDemo.demo;
}

/**
 * Seeds only a store with no employees and no customers; returns undefined otherwise. With
 * `filesDir`, the run's events.jsonl and truth.json are written there as well.
 */
export async function seedDemoIfEmpty(store: Store, vault: Vault, now: Date, customers = DEMO_CUSTOMERS, filesDir?: string): Promise<SeedSummary | undefined> {
  if ((await store.employees.count()) > 0 || (await store.customers.count()) > 0) return undefined;
  const demo = filesDir === undefined ? sameDayDemo(now, customers) : demoOrganisation(now, customers, filesDir);
  await store.employees.upsertMany(demo.employees, now);
  const BATCH = 1000;
  for (let start = 0; start < demo.customers.length; start += BATCH) {
    await storeCustomers(store, vault, demo.customers.slice(start, start + BATCH), now);
  }
  await store.cases.upsertMany(demo.cases, now);
  return { employees: demo.employees.length, customers, cases: demo.cases.length, canaries: demo.customers.filter((c) => c.canary).length, insiders: demo.truth.insiders.length };
}

/** The ingest source the demo's events are recorded under (resends of its event ids are skipped). */
export const DEMO_SOURCE = 'demo';
/** Written into the demo's directory once all its events are in the ledger. */
const RECORDED_MARK = 'recorded.json';

/**
 * Records the demo's events.jsonl (in `dir`) in the ledger as ingested events, the way
 * `custos ingest events FILE --source demo` does, so that live detection sees what the demo's
 * people did. Undefined when there is nothing to record: no demo files, or all recorded before.
 * A run cut short (a stop) is finished by the next call: events already recorded are skipped by id.
 */
export async function recordDemoEvents(deps: ActLogDeps, actor: Actor, dir: string): Promise<IngestSummary | undefined> {
  const events = join(dir, 'events.jsonl');
  if (!existsSync(events) || existsSync(join(dir, RECORDED_MARK))) return undefined;
  const run = await new EventIngest(deps).begin(actor, DEMO_SOURCE, { file: 'demo/events.jsonl' }, { channel: 'cli' });
  const summary = await run.ingestFile(events, events);
  writeFileSync(join(dir, RECORDED_MARK), `${JSON.stringify({ ...summary, at: deps.now().toISOString() })}\n`);
  return summary;
}
