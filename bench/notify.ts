/**
 * Customer notices. Rendering and queuing: 100k notices rendered (ICU catalogs, eight
 * languages) and written to a SQLite outbox, beside writing the same number of rows of fixed
 * content (the store's share). Delivery: an incident's notices sent from the outbox through the
 * whole path — lease, the broker's Cedar decision and incident check, ledger record and
 * decryption of each address, a pooled nodemailer transport, the sent mark — to a local smtp-server in another
 * process, beside the same pooled transport sending one fixed message as many times.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { openLedgerWriter } from '../src/app.ts';
import { NoticeAddresses } from '../src/broker/notice-address.ts';
import { storeCustomers } from '../src/broker/customer-writes.ts';
import { loadConfig } from '../src/config.ts';
import { loadOrCreateSigningKeys } from '../src/ledger/index.ts';
import { NoticeCatalogs } from '../src/notify/catalog.ts';
import type { AffectedCustomer, NoticeIncident, NoticeRecipient } from '../src/notify/notice.ts';
import { queueNotices } from '../src/notify/queue.ts';
import { mailOptionsOf, NoticeRenderer } from '../src/notify/render.ts';
import { DEFAULT_RETRY, sendNotices } from '../src/notify/send.ts';
import { loadPolicyEngine } from '../src/policy/index.ts';
import { loadEntities } from '../src/respond/entities.ts';
import { affectedCustomers } from '../src/respond/incidents.ts';
import { Store } from '../src/store/store.ts';
import { createVault } from '../src/vault/index.ts';
import { childEnv } from './child.ts';
import { nowMs, pairedFigure, type RunPair } from './figures.ts';
import { RUNS, type BenchContext, type Section } from './section.ts';

const DOMAIN = 'notices.bench.example';
const CONNECTIONS = 5;
const LOCALES: Array<[string, string | null]> = [['IT', 'it-IT'], ['FR', 'fr-FR'], ['ID', null], ['DE', 'de-DE'], ['ES', 'es-ES'], ['BR', 'pt-BR'], ['JP', 'ja-JP'], ['GB', 'en-GB']];
const PHONES: Record<string, string> = { IT: '+39 312 345 6', FR: '+33 6 12 34 5', ID: '+62 812 3456 7', DE: '+49 1512 3456', ES: '+34 612 34 5', BR: '+55 11 91234 5', JP: '+81 90-1234-5', GB: '+44 7911 123' };
const FIELDS = ['email', 'phone', 'name', 'address'];

function incident(id: string): NoticeIncident {
  return {
    id, kind: 'insider-disclosure', recipient: 'third-party', actions: ['access-revoked', 'law-enforcement', 'recipient-blocked'],
    authorities: [{ name: 'Data Protection Commission', jurisdiction: 'IE' }, { name: 'Garante per la protezione dei dati personali', jurisdiction: 'IT' }],
    reference: `REF-${id}`,
  };
}

function recipient(i: number): NoticeRecipient & { canary: boolean } {
  const [country, locale] = LOCALES[i % LOCALES.length]!;
  return { id: `c${i}`, country, region: null, locale, fields: FIELDS, canary: false };
}

function* affected(n: number): Generator<AffectedCustomer> {
  for (let i = 0; i < n; i++) yield { customer: `c${i}`, fields: i % 3 === 0 ? ['email', 'phone'] : ['email'], first: '2026-03-01T10:00:00.000Z', last: new Date(Date.parse('2026-03-01T10:00:00Z') + (i % 1000) * 60_000).toISOString() };
}

export const notifySection: Section = {
  name: 'notify',
  description: 'render and queue 100k notices; SMTP delivery from the outbox against nodemailer alone',
  async run(ctx) {
    return [await renderAndQueue(ctx), await delivery(ctx)];
  },
};

async function renderAndQueue(ctx: BenchContext) {
  const n = ctx.quick ? 5_000 : 100_000;
  const renderer = new NoticeRenderer(new NoticeCatalogs(), { domain: DOMAIN });
  const entities = loadEntities(loadConfig({ data: ctx.tmpDir }).entitiesFile);
  const fixed = new Uint8Array(1500).fill(7);
  const runs: RunPair[] = [];
  for (let run = 0; run < RUNS; run++) {
    const store = await Store.open({ dialect: 'sqlite', file: join(ctx.tmpDir, `queue-${run}`, 'custos.db') });
    try {
      const t0 = nowMs();
      const result = await queueNotices(incident(`Q${run}`), affected(n), {
        outbox: store.noticeOutbox, renderer, profileOf: async (id) => recipient(Number(id.slice(1))), entityFor: (r) => entities.entityFor(r).entity, now: Date.now,
      });
      const value = (nowMs() - t0) / 1000;
      if (result.queued !== n) throw new Error(`queued ${result.queued} of ${n}`);
      const t1 = nowMs();
      for (let i = 0; i < n; i += 500) {
        await store.noticeOutbox.enqueue(Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ incident: `B${run}`, customer: `c${i + k}`, messageId: `<b${run}.${i + k}@${DOMAIN}>`, locale: 'en', entity: 'eu', content: fixed })), Date.now());
      }
      const baseline = (nowMs() - t1) / 1000;
      ctx.log(`notify: run ${run + 1}/${RUNS}: rendered and queued ${n} in ${value.toFixed(1)} s; ${n} fixed rows in ${baseline.toFixed(1)} s`);
      runs.push({ value, baseline });
    } finally {
      await store.close();
    }
  }
  return pairedFigure({
    section: 'notify', name: `render and queue ${n.toLocaleString('en-US')} notices`, unit: 's', baselineName: `queue ${n.toLocaleString('en-US')} rows of fixed content`, runs,
    target: { on: 'value', op: '<=', bound: 30 },
    note: 'eight languages in turn; SQLite outbox, 500 rows per transaction; customer profiles from memory (the store read is the blast radius\'s)',
  });
}

async function delivery(ctx: BenchContext) {
  const n = ctx.quick ? 300 : 3_000;
  const dir = join(ctx.tmpDir, 'deliver');
  mkdirSync(dir, { recursive: true });
  const config = loadConfig({ data: dir });
  const sink = await startSink();
  const store = await Store.open(config.store);
  const now = () => new Date();
  const vault = createVault(config.keyDir, now());
  const signingKeys = await loadOrCreateSigningKeys(config.keyDir, { now, mayCreate: async () => true });
  await store.warmUp();
  const writer = await openLedgerWriter(config, store, signingKeys, { now });
  try {
    await store.employees.upsertMany([{ id: 'dpo-1', name: 'DPO', team: 'privacy', role: 'privacy_officer', location: 'Dublin', hiredAt: '2024-01-01T00:00:00Z', status: 'active' }], now());
    for (let i = 0; i < n; i += 500) {
      await storeCustomers(store, vault, Array.from({ length: Math.min(500, n - i) }, (_, k) => {
        const r = recipient(i + k);
        return { id: r.id, country: r.country, ...(r.locale ? { locale: r.locale } : {}), canary: false, vip: false, pii: { email: `person${i + k}@mail.example`, phone: `${PHONES[r.country]}${String((i + k) % 1000).padStart(3, '0')}`, name: `Person ${i + k}`, address: `${i + k} Example Street` } };
      }), now());
    }
    const renderer = new NoticeRenderer(new NoticeCatalogs(), { domain: DOMAIN });
    const entities = loadEntities(config.entitiesFile);
    const addresses = new NoticeAddresses({
      store, vault, policy: loadPolicyEngine(), recorder: writer.recorder, now,
      affectedBy: async (i) => (await affectedCustomers(store, i)).map((c) => c.customer),
    });
    const pool = () => nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, pool: true, maxConnections: CONNECTIONS, maxMessages: Infinity });
    const fixed = mailOptionsOf(renderer.render(incident('FIXED'), [...affected(1)][0]!, recipient(0), entities.entityFor(recipient(0)).entity), 'person0@mail.example', now());
    const runs: RunPair[] = [];
    for (let run = 0; run < RUNS; run++) {
      const id = `D${run}`;
      // Addresses are opened only for the customers of an incident in the store that is notifying.
      const at = now().toISOString();
      await store.incidents.create(
        { id, kind: 'exposure', title: 'bench', state: 'notifying', exposure: { customers: [...affected(n)].map((a) => a.customer), fields: ['email'] }, openedAt: at, openedBy: 'dpo-1', updatedAt: at },
        { at, actor: 'dpo-1', kind: 'opened', detail: {} },
      );
      await queueNotices(incident(id), affected(n), {
        outbox: store.noticeOutbox, renderer, profileOf: async (cid) => recipient(Number(cid.slice(1))), entityFor: (r) => entities.entityFor(r).entity, now: Date.now,
      });
      const transport = pool();
      const summary = await sendNotices(id, {
        outbox: store.noticeOutbox, transport, owner: `bench-${run}`, nowMs: Date.now, concurrency: CONNECTIONS * 4, leaseMs: 120_000, retry: DEFAULT_RETRY, waitForRetries: false,
        addressFor: (inc, customer) => addresses.addressFor({ kind: 'employee', id: 'dpo-1' }, inc, customer, { channel: 'cli' }),
      });
      transport.close();
      if (summary.sent !== n) throw new Error(`sent ${summary.sent} of ${n} (failed ${summary.failed}, bounced ${summary.bounced})`);
      const value = (n * 1000) / summary.elapsedMs;

      const plain = pool();
      const t0 = nowMs();
      let next = 0;
      await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
        while (next++ < n) await plain.sendMail(fixed);
      }));
      const baseline = (n * 1000) / (nowMs() - t0);
      plain.close();
      ctx.log(`notify: run ${run + 1}/${RUNS}: ${n} notices from the outbox at ${value.toFixed(0)}/s; one fixed message ${n} times at ${baseline.toFixed(0)}/s`);
      runs.push({ value, baseline });
    }
    return pairedFigure({
      section: 'notify', name: `SMTP delivery of ${n.toLocaleString('en-US')} notices from the outbox`, unit: 'messages/s', baselineName: 'nodemailer sending one fixed message', runs,
      target: { on: 'value', op: '>=', bound: 300 },
      note: `${CONNECTIONS} pooled connections to smtp-server on loopback in another process; each notice: lease, Cedar decision, ledger record and decryption of the address, send, sent mark (SQLite)`,
    });
  } finally {
    await writer.recorder.close();
    await writer.checkpointer.close();
    await store.close();
    sink.child.kill('SIGTERM');
  }
}

async function startSink(): Promise<{ port: number; child: ChildProcess }> {
  const script = fileURLToPath(new URL('./smtp-sink.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: childEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`smtp sink exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { port, child };
}
