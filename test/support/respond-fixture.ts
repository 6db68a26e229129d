/**
 * A store and the same records as interchange files, for response work (blast radius,
 * attribution, incidents): the demo organisation, and a subject whose reveals and exports mix
 * justified accesses with each kind of unjustified one. Events reach the ledger through the
 * recorder, as the broker's and ingest's do.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openCustos } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { AccessEvent, CaseRecord } from '../../src/model.ts';
import { CANARY_EVERY, demoCustomer } from '../../src/simulate/demo-org.ts';
import { seedDemoIfEmpty } from '../../src/simulate/seed-demo.ts';
import type { StoreLocation } from '../../src/store/store.ts';

export const FIXTURE_CUSTOMERS = 120;

export interface RespondFixture {
  dataDir: string;
  store: StoreLocation;
  subject: string;
  now: Date;
  /** Window that holds every subject event but the early one. */
  from: string;
  to: string;
  files: { events: string; customers: string; cases: string };
  events: AccessEvent[];
  /** The subject's cases by state at the events' time. */
  openCase: CaseRecord;
  closedCase: CaseRecord;
  /** CLI flags selecting the store (and the key files in dataDir). */
  flags: string[];
}

let counter = 0;

export interface FixtureOptions {
  /** Demo customers to seed (default FIXTURE_CUSTOMERS; CANARY_EVERY or more holds a canary). */
  customers?: number;
  /** More events to record, given the subject's untouched customers and a clock in minutes before now. */
  extra?: (ctx: { pool: string[]; t: (minutesAgo: number) => string; id: () => string }) => AccessEvent[];
}

export async function respondFixture(store: StoreLocation, options: FixtureOptions = {}): Promise<RespondFixture> {
  const customerCount = options.customers ?? FIXTURE_CUSTOMERS;
  // SQLite keeps its key files beside the store, as `custos serve --data DIR` does.
  const dataDir = store.dialect === 'sqlite' ? dirname(store.file) : mkdtempSync(join(tmpdir(), 'custos-respond-'));
  const config = loadConfig({ data: dataDir }, { CUSTOS_CHECKPOINT_EVERY: '10' });
  config.store = store;
  const custos = await openCustos(config);
  const now = custos.now();
  const events: AccessEvent[] = [];
  let cases: CaseRecord[];
  try {
    await seedDemoIfEmpty(custos.store, custos.vault, now, customerCount);
    cases = await custos.store.cases.list({ limit: 10_000 }, now);
    const byEmployee = new Map<string, CaseRecord[]>();
    for (const c of cases) byEmployee.set(c.employee, [...(byEmployee.get(c.employee) ?? []), c]);
    // An agent with an open case and a closed one about another customer (the demo's agents have many cases).
    const pairOf = (list: CaseRecord[]) => {
      const open = list.find((c) => !c.closedAt);
      const closed = open && list.find((c) => c.closedAt && c.customer !== open.customer);
      return open && closed ? { open, closed } : undefined;
    };
    const [subject, own] = [...byEmployee].find(([e, list]) => e.startsWith('emp-') && pairOf(list)) ?? [];
    if (!subject || !own) throw new Error('the demo organisation has no agent with both an open and a closed case');
    const { open: openCase, closed: closedCase } = pairOf(own)!;
    const t = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
    const id = () => `fx-${process.pid}-${++counter}`;
    const other = (n: number) => `cus-${String(n).padStart(6, '0')}`;
    // Customers the subject has no case for, each used once below.
    const pool = [...Array(customerCount).keys()].map((i) => other(i + 1)).filter((c) => !own.some((k) => k.customer === c) && !demoCustomer(Number(c.slice(4)), CANARY_EVERY).canary);
    const stranger = pool[0]!;
    const reveal = (minutesAgo: number, customer: string, fields: string[], purpose?: string): AccessEvent => ({
      id: id(), time: t(minutesAgo), actor: subject, action: 'reveal', customers: [customer], fields, decision: 'allow', channel: 'api',
      ...(purpose ? { purpose: { kind: 'case', ref: purpose } } : {}),
    });
    events.push(
      // Justified: the subject's open case, twice.
      reveal(50, openCase.customer, ['email'], openCase.id),
      reveal(40, openCase.customer, ['phone'], openCase.id),
      // No purpose.
      reveal(35, stranger, ['email']),
      // A case of theirs, but about someone else.
      reveal(30, stranger, ['phone'], openCase.id),
      // Their case, closed by then.
      reveal(25, closedCase.customer, ['email'], closedCase.id),
      // An export of three customers, no purpose.
      { id: id(), time: t(20), actor: subject, action: 'export', customers: [pool[1]!, pool[2]!, pool[3]!], fields: ['email', 'phone'], decision: 'allow', channel: 'batch' },
      // Not counted: a denial, a masked view, someone else's reveal, and (outside the window) an early one.
      { ...reveal(15, pool[4]!, []), decision: 'deny', reason: 'no_purpose', requested: ['email'] },
      { id: id(), time: t(14), actor: subject, action: 'view', customers: [pool[5]!], fields: [], decision: 'allow' },
      { ...reveal(13, pool[6]!, ['email']), actor: 'emp-0999' },
      reveal(24 * 60, pool[7]!, ['email']),
      ...(options.extra?.({ pool, t, id }) ?? []),
    );
    for (const e of events) await custos.recorder.record(e);
  } finally {
    await custos.close();
  }
  const files = { events: join(dataDir, 'events.jsonl'), customers: join(dataDir, 'customers.jsonl'), cases: join(dataDir, 'cases.jsonl') };
  writeFileSync(files.events, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  writeFileSync(files.customers, [...Array(customerCount).keys()].map((i) => JSON.stringify(demoCustomer(i + 1, CANARY_EVERY))).join('\n') + '\n');
  writeFileSync(files.cases, cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const subjectEvents = events.filter((e) => e.actor === events[0]!.actor);
  // Those below are the subject's; the extra events (and the rest) are in the files and the store.
  const subjectCases = cases.filter((c) => c.employee === events[0]!.actor);
  return {
    dataDir,
    store,
    subject: events[0]!.actor,
    now,
    from: new Date(now.getTime() - 2 * 3_600_000).toISOString(),
    to: new Date(now.getTime() + 3_600_000).toISOString(),
    files,
    events: subjectEvents,
    openCase: subjectCases.find((c) => c.id === events[0]!.purpose!.ref)!,
    closedCase: subjectCases.find((c) => c.id === events[4]!.purpose!.ref)!,
    flags: store.dialect === 'postgres' ? ['--data', dataDir, '--store', `${store.url}?schema=${store.schema}`] : ['--data', dataDir],
  };
}
