/**
 * The respond section: a blast radius and the attribution of a leaked list over a large stored
 * ledger (SQLite, access-event index caught up), each beside a plain indexed SELECT of the same
 * event rows in the same run, the least any answer from the store can cost.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { eventEntryBytes } from '../src/broker/ledger-recorder.ts';
import { LedgerAppender } from '../src/ledger/index.ts';
import type { AccessEvent } from '../src/model.ts';
import { attribute, readLeakedList } from '../src/respond/attribution.ts';
import { blastRadius } from '../src/respond/blast-radius.ts';
import { storeCustomerExposures, storeCustomerMatcher, storeDirectory, storeExposures } from '../src/respond/sources.ts';
import { seededRandom } from '../src/simulate/demo-org.ts';
import { indexFileFor, ledgerFileFor, Store } from '../src/store/store.ts';
import { createVault } from '../src/vault/index.ts';
import { nowMs, pairedFigure, type Figure, type RunPair } from './figures.ts';
import { RUNS, type BenchContext, type Section } from './section.ts';
import { formatCount } from './table.ts';

interface Sizes {
  events: number;
  customers: number;
  leaked: number;
}

const FULL: Sizes = { events: 10_000_000, customers: 1_000_000, leaked: 100_000 };
const QUICK: Sizes = { events: 200_000, customers: 20_000, leaked: 2_000 };

/** BENCH_RESPOND_EVENTS=N: the full section's shape scaled to N events (customers and the list in proportion). */
function sizesFor(quick: boolean): Sizes {
  const events = Number(process.env.BENCH_RESPOND_EVENTS ?? '');
  if (!Number.isInteger(events) || events <= 0) return quick ? QUICK : FULL;
  const scale = events / FULL.events;
  return { events, customers: Math.max(1, Math.round(FULL.customers * scale)), leaked: Math.max(1, Math.round(FULL.leaked * scale)) };
}
const ACTORS = 240;
const SUBJECT = 'emp-0007';
const APPEND_CHUNK = 20_000;
const COUNTRIES = ['IT', 'FR', 'DE', 'GB', 'ES', 'ID', 'BR', 'CA', 'US', 'JP'];
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const customerId = (i: number) => `cus-${pad(i, 7)}`;
const emailOf = (i: number) => `customer.${i}@bench.example`;

export const respondSection: Section = {
  name: 'respond',
  description: 'blast radius and attribution of a leaked list over a large stored ledger, beside plain indexed SELECTs of the same rows',
  async run(ctx) {
    const sizes = sizesFor(ctx.quick);
    const file = join(ctx.tmpDir, 'respond.db');
    const store = await Store.open({ dialect: 'sqlite', file });
    try {
      const vault = createVault(join(ctx.tmpDir, 'keys'), new Date());
      insertCustomers(ctx, file, sizes.customers, (email) => vault.blindIndexEmail(email));
      await appendEvents(ctx, store, sizes);
      const index = new BetterSqlite3(indexFileFor(file), { readonly: true });
      index.prepare('ATTACH DATABASE ? AS ledger').run(ledgerFileFor(file));
      // Read as the index worker reads: through memory-mapped files.
      index.pragma('mmap_size = 17179869184');
      index.pragma('ledger.mmap_size = 17179869184');
      try {
        const leaked = join(ctx.tmpDir, 'leaked.txt');
        writeLeakedList(leaked, sizes);
        return [
          await measureBlastRadius(ctx, store, index, sizes),
          await measureAttribution(ctx, store, index, leaked, sizes, (email) => vault.blindIndexEmail(email)),
        ];
      } finally {
        index.close();
      }
    } finally {
      await store.close();
    }
  },
};

/**
 * Customer rows with their e-mail blind index; the sealed fields are not what is measured. Written
 * through a connection of the bench's own, one prepared INSERT per row in one transaction.
 */
function insertCustomers(ctx: BenchContext, file: string, count: number, emailIndex: (email: string) => string): void {
  const t0 = nowMs();
  const at = new Date().toISOString();
  const db = new BetterSqlite3(file);
  try {
    db.pragma('busy_timeout = 5000');
    const insert = db.prepare(`INSERT INTO customers (id, country, region, locale, canary, vip, fields, wrapped_key, sealed, masked, email_index, phone_index, created_at, updated_at)
      VALUES (?, ?, NULL, NULL, 0, 0, '["email","phone"]', X'00', '{}', '{}', ?, NULL, ?, ?)`);
    db.transaction(() => {
      for (let i = 1; i <= count; i++) insert.run(customerId(i), COUNTRIES[i % COUNTRIES.length]!, emailIndex(emailOf(i)), at, at);
    })();
  } finally {
    db.close();
  }
  ctx.log(`respond: ${formatCount(count)} customers stored in ${((nowMs() - t0) / 1000).toFixed(1)} s`);
}

/** Access events of realistic shape: reveals (a few exports) of e-mail and phone, one in twenty denied. */
async function appendEvents(ctx: BenchContext, store: Store, sizes: Sizes): Promise<void> {
  const t0 = nowMs();
  const rand = seededRandom(11);
  const start = Date.parse('2026-03-02T08:00:00.000Z');
  const appender = await LedgerAppender.open(store.ledger, { timeoutMs: 600_000 });
  for (let i = 0; i < sizes.events; i += APPEND_CHUNK) {
    const chunk: Buffer[] = [];
    for (let j = i; j < Math.min(i + APPEND_CHUNK, sizes.events); j++) chunk.push(eventEntryBytes(eventAt(j, rand, start, sizes.customers)));
    await appender.appendMany(chunk);
    if (i % 1_000_000 === 0 && i > 0) ctx.log(`respond: ${formatCount(i)} events appended`);
  }
  await appender.close();
  const t1 = nowMs();
  await store.eventIndex.catchUp();
  ctx.log(`respond: ${formatCount(sizes.events)} events appended in ${((t1 - t0) / 1000).toFixed(1)} s, indexed in another ${((nowMs() - t1) / 1000).toFixed(1)} s`);
}

function eventAt(i: number, rand: () => number, startMs: number, customers: number): AccessEvent {
  const actor = `emp-${pad(1 + Math.floor(rand() * ACTORS), 4)}`;
  const customer = customerId(1 + Math.floor(rand() * customers));
  const purpose = rand() < 0.9 ? { purpose: { kind: 'case', ref: `case-${pad(1 + Math.floor(rand() * 2000), 6)}` } } : {};
  const common = { id: `ev-${i}`, time: new Date(startMs + i * 20).toISOString(), actor, customers: [customer], ...purpose, channel: 'api' };
  if (rand() < 0.05) return { ...common, action: 'reveal', fields: [], decision: 'deny', reason: 'purpose_not_linked' };
  return { ...common, action: rand() < 0.02 ? 'export' : 'reveal', fields: ['email', 'phone'], decision: 'allow' };
}

/** `leaked` lines: nine in ten the e-mails of distinct random customers, the rest nobody's. */
function writeLeakedList(file: string, sizes: Sizes): void {
  const rand = seededRandom(5);
  const chosen = new Set<number>();
  const lines: string[] = [];
  while (lines.length < sizes.leaked) {
    if (rand() < 0.9) {
      const i = 1 + Math.floor(rand() * sizes.customers);
      if (chosen.has(i)) continue;
      chosen.add(i);
      lines.push(emailOf(i));
    } else {
      lines.push(`stranger.${lines.length}@elsewhere.example`);
    }
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

async function measureBlastRadius(ctx: BenchContext, store: Store, index: BetterSqlite3.Database, sizes: Sizes): Promise<Figure> {
  // The same rows, with the index columns the answer reads (no ledger entry: the answer reads none either).
  const select = index.prepare(`SELECT e.seq, e.time_ms, e.customers, e.fields, e.purpose_kind, e.purpose_ref FROM access_events e WHERE e.actor = ? AND e.action IN ('reveal', 'export') AND e.decision = 'allow' ORDER BY e.seq`);
  const window = { employee: SUBJECT };
  const runs: RunPair[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t = nowMs();
    const radius = await blastRadius(window, storeExposures(store, window), storeDirectory(store));
    const value = nowMs() - t;
    t = nowMs();
    const rows = select.all(SUBJECT);
    const baseline = nowMs() - t;
    // Complete: every row the plain SELECT finds is an event the blast radius counted.
    if (radius.events !== rows.length) throw new Error(`blast radius counted ${radius.events} events; the plain SELECT finds ${rows.length}`);
    ctx.log(`respond: blast radius run ${r + 1}/${RUNS}: ${value.toFixed(0)} ms for ${radius.events} events, ${radius.total} customers; plain SELECT ${baseline.toFixed(0)} ms`);
    runs.push({ value, baseline });
  }
  return pairedFigure({
    section: 'respond',
    name: `blast radius, ${formatCount(sizes.events)} stored events`,
    unit: 'ms',
    baselineName: 'plain indexed SELECT of the same rows',
    runs,
    target: { on: 'value', op: '<', bound: 1000 },
    note: `one employee of ${ACTORS} (about ${formatCount(Math.round(sizes.events / ACTORS))} events), every allowed reveal and export from the access-event index alone, cases and customers looked up; the baseline reads the same rows' index columns (seq, time, customers, fields, purpose) in one prepared statement and decodes nothing`,
  });
}

async function measureAttribution(ctx: BenchContext, store: Store, index: BetterSqlite3.Database, leaked: string, sizes: Sizes, emailIndex: (email: string) => string): Promise<Figure> {
  const runs: RunPair[] = [];
  const indexer = { email: emailIndex, phone: () => { throw new Error('the bench list holds e-mails only'); } };
  for (let r = 0; r < RUNS; r++) {
    let t = nowMs();
    const list = await readLeakedList(leaked, indexer);
    const result = await attribute(list, storeCustomerMatcher(store), storeCustomerExposures(store), storeDirectory(store));
    const value = nowMs() - t;
    // The baseline: the matched customers' event rows, by the same index, decoded by nothing.
    const ids = await matchedIds(store, list.entries.map((e) => e.index));
    t = nowMs();
    let rows = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      rows += index.prepare(`SELECT c.customer, c.seq, c.time_ms, c.actor, c.exposed, c.purpose_kind, c.purpose_ref FROM access_event_customers c WHERE c.customer IN (${chunk.map(() => '?').join(',')}) AND c.exposed <> 0`).all(...chunk).length;
    }
    const baseline = nowMs() - t;
    ctx.log(`respond: attribution run ${r + 1}/${RUNS}: ${value.toFixed(0)} ms (${result.matched} matched, ${result.candidates.length} candidates); plain SELECT of ${rows} event rows ${baseline.toFixed(0)} ms`);
    runs.push({ value, baseline });
  }
  return pairedFigure({
    section: 'respond',
    name: `attribution, ${formatCount(sizes.leaked)}-line list, ${formatCount(sizes.events)} events`,
    unit: 'ms',
    baselineName: 'plain indexed SELECT of the matched customers\' event rows',
    runs,
    target: { on: 'value', op: '<', bound: 5000 },
    note: 'read and hash the list, match by blind index, read every allowed reveal and export of the matched customers from the index alone, judge purposes, rank; the baseline selects the same rows\' index columns (customer, seq, time, actor, exposed fields, purpose) and decodes nothing',
  });
}

async function matchedIds(store: Store, indexes: string[]): Promise<string[]> {
  return [...new Set((await store.customers.matchBlindIndexes('email', indexes)).map((m) => m.id))];
}
