/** Seed the demo organisation into an empty store, through the same sealing path as import. */
import type { Store } from '../store/store.ts';
import { storeCustomers } from '../broker/customer-writes.ts';
import type { Vault } from '../vault/index.ts';
import { parseCustomer } from '../model.ts';
import { CANARY_EVERY, DEMO_CUSTOMERS, demoCases, demoCustomer, demoEmployees } from './demo-org.ts';

export interface SeedSummary {
  employees: number;
  customers: number;
  cases: number;
  canaries: number;
}

/** Seeds only a store with no employees and no customers; returns undefined otherwise. */
export async function seedDemoIfEmpty(store: Store, vault: Vault, now: Date, customers = DEMO_CUSTOMERS): Promise<SeedSummary | undefined> {
  if ((await store.employees.count()) > 0 || (await store.customers.count()) > 0) return undefined;
  const employees = demoEmployees();
  await store.employees.upsertMany(employees, now);
  let canaries = 0;
  const BATCH = 1000;
  for (let start = 1; start <= customers; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(start + BATCH, customers + 1); i++) {
      const record = demoCustomer(i, CANARY_EVERY);
      if (record.canary) canaries++;
      batch.push(parseCustomer(record));
    }
    await storeCustomers(store, vault, batch, now);
  }
  const cases = demoCases(customers, now);
  await store.cases.upsertMany(cases, now);
  return { employees: employees.length, customers, cases: cases.length, canaries };
}
