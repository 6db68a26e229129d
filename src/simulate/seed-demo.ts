/**
 * The demo organisation `npm start` seeds into an empty store: a simulation run (see
 * simulate.ts) ending at today's UTC midnight, of 300 employees and 10,000 customers, whose
 * employees, customers and cases are stored through the same paths as an import. Its events are
 * what those people did over the last weeks, insiders included.
 */
import type { Store } from '../store/store.ts';
import { storeCustomers } from '../broker/customer-writes.ts';
import type { Vault } from '../vault/index.ts';
import { parseCase, parseCustomer, parseEmployee, type CaseRecord, type CustomerInput, type Employee } from '../model.ts';
import { CANARY_EVERY, DEMO_CUSTOMERS } from './demo-org.ts';
import { DAY_MS, type SimulationSize } from './organisation.ts';
import { runSimulation, simulatedEmployeeLines, type Truth } from './simulate.ts';

export const DEMO_EMPLOYEES = 300;
export const DEMO_DAYS = 21;
export const DEMO_SEED = 2026;

export interface SeedSummary {
  employees: number;
  customers: number;
  cases: number;
  canaries: number;
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

/** The demo's records; `onEvent` gets each events.jsonl line, in time order, for whoever records them. */
export function demoOrganisation(now: Date, customers = DEMO_CUSTOMERS, onEvent: (line: string) => void = () => {}): DemoOrganisation {
  const org: Omit<DemoOrganisation, 'truth'> = { employees: [], customers: [], cases: [] };
  const { truth } = runSimulation(demoSize(now, customers), {
    customer: (record) => org.customers.push(parseCustomer(record)),
    employee: (line) => org.employees.push(parseEmployee(JSON.parse(line))),
    caseLine: (line) => org.cases.push(parseCase(JSON.parse(line))),
    eventLine: onEvent,
  });
  return { ...org, truth };
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

/** Seeds only a store with no employees and no customers; returns undefined otherwise. */
export async function seedDemoIfEmpty(store: Store, vault: Vault, now: Date, customers = DEMO_CUSTOMERS): Promise<SeedSummary | undefined> {
  if ((await store.employees.count()) > 0 || (await store.customers.count()) > 0) return undefined;
  const demo = sameDayDemo(now, customers);
  await store.employees.upsertMany(demo.employees, now);
  const BATCH = 1000;
  for (let start = 0; start < demo.customers.length; start += BATCH) {
    await storeCustomers(store, vault, demo.customers.slice(start, start + BATCH), now);
  }
  await store.cases.upsertMany(demo.cases, now);
  return { employees: demo.employees.length, customers, cases: demo.cases.length, canaries: demo.customers.filter((c) => c.canary).length };
}
