/**
 * Detection live inside the server gives the alerts batch detection gives for the same events:
 * a simulated organisation is imported, its events are sent through POST /v1/events, and the
 * alerts the server stored are compared with `detectFromFiles` over the same files. A restart
 * replays the ledger to rebuild detection's state without storing any alert twice, and goes on.
 * So does the death of detection's worker thread mid-stream: a new worker replays, and the alerts
 * are those batch detection finds.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { custosCli } from '../support/cli.ts';
import { untilLoadedDeadline } from '../support/wait.ts';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { sqliteTarget, storeTargets } from '../support/stores.ts';
import { storeCustomers } from '../../src/broker/customer-writes.ts';
import type { Alert } from '../../src/detect/alert.ts';
import { aliasOf } from '../../src/detect/alias.ts';
import { detectFromFiles, type BatchFiles } from '../../src/detect/batch.ts';
import { importFile } from '../../src/importer/import-file.ts';
import { simulateToDirectory } from '../../src/simulate/simulate.ts';
import type { StoredAlert } from '../../src/store/alerts.ts';
import type { StoreLocation } from '../../src/store/store.ts';

const SLOW = 300_000;
const size = { employees: 40, customers: 400, days: 10, seed: 5, start: new Date('2026-03-02T00:00:00Z') };

/**
 * What must agree between live and batch: everything but the ledger indexes live adds, with the
 * engine's own alias, and as JSON (a stored baseline of Infinity, "no bound", reads back null).
 */
function comparable(a: Alert | StoredAlert): unknown {
  return JSON.parse(JSON.stringify(comparableFields(a)));
}

function comparableFields(a: Alert | StoredAlert): unknown {
  const alias = 'alias' in a ? a.alias : undefined;
  const words = (text: string) => (alias ? text.split(alias).join(aliasOf(a.employee)) : text);
  return {
    id: a.id, employee: a.employee, score: a.score, severity: a.severity, detectedAt: a.detectedAt, firstEventAt: a.firstEventAt, updatedAt: a.updatedAt,
    explanation: words(a.explanation),
    detectors: a.detectors.map((d) => ({ ...d, evidence: { ...d.evidence, summary: words(d.evidence.summary), samples: d.evidence.samples.map((s) => ({ id: s.id, time: s.time })) } })),
  };
}

const byId = (x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);

for (const target of storeTargets()) {
  describe(`live detection inside the server on ${target.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-live-'));
    const files: BatchFiles = { customers: join(dir, 'customers.jsonl'), employees: join(dir, 'employees.jsonl'), cases: join(dir, 'cases.jsonl'), events: join(dir, 'events.jsonl') };
    let loc: StoreLocation;
    let dataDir: string;
    let t: TestInstance | undefined;
    let batch: Alert[];

    const start = () => startInstance({ store: loc, dataDir, detect: true, demo: false, env: { CUSTOS_INGEST_MAX_BYTES: String(64 * 1024 * 1024) } });
    const ingest = async (body: string) => {
      await t!.custos.store.employees.upsertMany([{ id: 'app-sim', name: 'Simulator', team: 'it', role: 'ingester', location: 'eu', hiredAt: '2020-01-01T00:00:00.000Z', status: 'active' }], new Date());
      const res = await fetch(`${t!.base}/v1/events?source=sim`, { method: 'POST', headers: { authorization: `Bearer ${await t!.token('app-sim')}`, 'content-type': 'application/x-ndjson' }, body });
      expect(res.status, await res.clone().text()).toBe(200);
      // Detection runs off the request path: wait until it has handled everything recorded.
      await t!.custos.stream.settled();
    };
    const stored = async () => (await t!.custos.store.alerts.list({ limit: 1000 })).sort(byId);

    beforeAll(async () => {
      simulateToDirectory(size, dir);
      batch = (await detectFromFiles(files)).alerts.sort(byId);
      loc = target.location();
      dataDir = mkdtempSync(join(tmpdir(), 'custos-live-data-'));
      t = await start();
      for (const kind of ['employees', 'customers', 'cases'] as const) {
        await importFile(t.custos.store, async (inputs, now) => void (await storeCustomers(t!.custos.store, t!.custos.vault, inputs, now)), { kind, file: files[kind], skipBad: false, now: () => new Date() });
      }
      // As `custos serve` does after seeding: records written outside the stream are read again.
      await t.custos.detection!.reloadDirectory();
    }, SLOW);
    afterAll(async () => {
      await t?.stop();
      await target.cleanup();
    });

    it('stores the alerts batch detection finds in the same events', async () => {
      expect(batch.length).toBeGreaterThan(3);
      expect(batch.some((a) => a.detectors.some((d) => d.name === 'canary'))).toBe(true);
      await ingest(readFileSync(files.events, 'utf8'));
      const live = await stored();
      expect(live.map(comparable)).toEqual(batch.map(comparable));
      expect(live.every((a) => a.state === 'open' && a.seq !== undefined)).toBe(true);
      // Each alert's risk history: one point per raise or update, the last one the alert's.
      const first = live[0]!;
      expect((await t!.custos.store.alerts.riskHistory(first.employee, { limit: 1000 })).filter((p) => p.alert === first.id).at(-1)).toMatchObject({ score: first.score, at: first.updatedAt });
    }, SLOW);

    it('resumes after a restart without alerting again, keeping analysts’ states, and goes on detecting', async () => {
      const before = await stored();
      const moved = before[0]!;
      expect(await t!.custos.store.alerts.changeState(moved.id, 'open', { at: new Date().toISOString(), from: 'open', to: 'dismissed', actor: 'sec-1', reason: 'test', seq: 1 })).toBe(true);
      const points = async () => {
        let n = 0;
        for (const e of new Set(before.map((a) => a.employee))) n += (await t!.custos.store.alerts.riskHistory(e, { limit: 1000 })).length;
        return n;
      };
      const pointsBefore = await points();
      // Saved with each alert stored, and when the stream goes quiet: never ahead of what was handled.
      const position = await t!.custos.store.alerts.position('live');
      expect(position).toBeGreaterThan(0);
      expect(position).toBeLessThanOrEqual(t!.custos.detection!.handled);

      await t!.stop();
      t = await start();
      await t.custos.stream.settled();
      // The replay rebuilt the engine's state from the whole ledger and stored nothing again.
      expect(t.custos.detection!.handled).toBe(await t.custos.store.ledger.size());
      const after = await stored();
      expect(after.map(comparable)).toEqual(before.map(comparable));
      expect(after.find((a) => a.id === moved.id)!.state).toBe('dismissed');
      expect(await points()).toBe(pointsBefore);

      // And it goes on: an honest employee with no alert touches a canary, a day after the last event.
      const canary = JSON.parse(readFileSync(files.customers, 'utf8').split('\n').find((l) => l.includes('"canary":true'))!).id as string;
      const quiet = readFileSync(files.employees, 'utf8').split('\n').filter((l) => l)
        .map((l) => JSON.parse(l).id as string).find((id) => !before.some((a) => a.employee === id))!;
      const touch = { id: 'after-restart-1', time: '2026-03-12T10:00:00Z', actor: quiet, action: 'view', customers: [canary], fields: ['email'], decision: 'allow', channel: 'web' };
      await ingest(`${JSON.stringify(touch)}\n`);
      const fresh = (await stored()).filter((a) => !before.some((b) => b.id === a.id));
      expect(fresh).toHaveLength(1);
      expect(fresh[0]).toMatchObject({ employee: quiet, severity: 'critical', detectedAt: '2026-03-12T10:00:00.000Z' });
      expect(fresh[0]!.detectors.map((d) => d.name)).toContain('canary');
    }, SLOW);

    it('sees events another process ingests while it runs (custos ingest events)', async () => {
      const before = await stored();
      const canary = JSON.parse(readFileSync(files.customers, 'utf8').split('\n').find((l) => l.includes('"canary":true'))!).id as string;
      const quiet = readFileSync(files.employees, 'utf8').split('\n').filter((l) => l)
        .map((l) => JSON.parse(l).id as string).find((id) => !before.some((a) => a.employee === id))!;
      const touch = { id: 'from-cli-1', time: '2026-03-12T12:00:00Z', actor: quiet, action: 'view', customers: [canary], fields: ['email'], decision: 'allow', channel: 'web' };
      const file = join(dir, 'more.jsonl');
      writeFileSync(file, `${JSON.stringify(touch)}\n`);
      const store = loc.dialect === 'sqlite' ? `sqlite:${loc.file}` : `${loc.url}?schema=${loc.schema}`;
      const res = await custosCli(['ingest', 'events', file, '--source', 'cli', '--data', dataDir, '--store', store]);
      expect(res.code, res.stderr).toBe(0);
      // The server records nothing meanwhile: detection finds the new entries by following the ledger.
      await vi.waitFor(async () => {
        const fresh = (await stored()).filter((a) => !before.some((b) => b.id === a.id));
        expect(fresh.map((a) => [a.employee, a.severity])).toEqual([[quiet, 'critical']]);
      }, untilLoadedDeadline);
    }, SLOW);
  });
}

describe('live detection inside the server when its worker dies mid-stream', () => {
  const target = sqliteTarget();
  const dir = mkdtempSync(join(tmpdir(), 'custos-live-death-'));
  const files: BatchFiles = { customers: join(dir, 'customers.jsonl'), employees: join(dir, 'employees.jsonl'), cases: join(dir, 'cases.jsonl'), events: join(dir, 'events.jsonl') };
  let t: TestInstance | undefined;
  const logLines: string[] = [];

  afterAll(async () => {
    await t?.stop();
    await target.cleanup();
  });

  it('logs the death, restarts the worker, and stores the alerts batch detection finds', async () => {
    simulateToDirectory(size, dir);
    const batch = (await detectFromFiles(files)).alerts.sort(byId);
    const lines = readFileSync(files.events, 'utf8').split('\n').filter((l) => l);
    // Half-way through the events, once (the restarted worker's replay passes it).
    const remaining = new Int32Array(new SharedArrayBuffer(4));
    remaining[0] = 1;
    const fault = { event: JSON.parse(lines[Math.floor(lines.length / 2)]!).id as string, how: 'exit' as const, remaining };
    t = await startInstance({
      store: target.location(), detect: true, demo: false, logLines,
      detectionFaults: { fault, restarts: { backoffMs: 10 } },
      env: { CUSTOS_INGEST_MAX_BYTES: String(64 * 1024 * 1024) },
    });
    for (const kind of ['employees', 'customers', 'cases'] as const) {
      await importFile(t.custos.store, async (inputs, now) => void (await storeCustomers(t!.custos.store, t!.custos.vault, inputs, now)), { kind, file: files[kind], skipBad: false, now: () => new Date() });
    }
    await t.custos.detection!.reloadDirectory();
    await t.custos.store.employees.upsertMany([{ id: 'app-sim', name: 'Simulator', team: 'it', role: 'ingester', location: 'eu', hiredAt: '2020-01-01T00:00:00.000Z', status: 'active' }], new Date());
    const res = await fetch(`${t.base}/v1/events?source=sim`, { method: 'POST', headers: { authorization: `Bearer ${await t.token('app-sim')}`, 'content-type': 'application/x-ndjson' }, body: `${lines.join('\n')}\n` });
    expect(res.status, await res.clone().text()).toBe(200);

    // The stream's settled() cannot tell: the dead worker's subscription is gone, the new one replays.
    const ledgerSize = await t.custos.store.ledger.size();
    await vi.waitFor(async () => {
      expect((await t!.call('GET', '/healthz')).body.detection).toEqual({ state: 'running', handled: ledgerSize, restarts: 1 });
    }, untilLoadedDeadline);
    const live = (await t.custos.store.alerts.list({ limit: 1000 })).sort(byId);
    expect(live.map(comparable)).toEqual(batch.map(comparable));

    const deaths = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg?.includes('live detection worker died'));
    expect(deaths).toHaveLength(1);
    expect(deaths[0]).toMatchObject({ level: 50, deaths: 1, restartInMs: 10 });
    expect(deaths[0].err.message).toContain('exit code 70');
    expect((await t.call('GET', '/healthz')).body.status).toBe('ok');
  }, SLOW);

  it('reports detection failed in /healthz once the worker died too often, and serves on', async () => {
    await t?.stop();
    logLines.length = 0;
    const remaining = new Int32Array(new SharedArrayBuffer(4));
    remaining[0] = 1_000;
    const fault = { event: 'poison-1', how: 'throw' as const, remaining };
    t = await startInstance({ store: target.location(), detect: true, demo: false, logLines, detectionFaults: { fault, restarts: { backoffMs: 10, maxDeaths: 2 } } });
    await t.custos.store.employees.upsertMany([{ id: 'app-sim', name: 'Simulator', team: 'it', role: 'ingester', location: 'eu', hiredAt: '2020-01-01T00:00:00.000Z', status: 'active' }], new Date());
    const poison = { id: 'poison-1', time: '2026-03-02T10:00:00Z', actor: 'emp-1', action: 'view', customers: ['cus-1'], fields: ['email'], decision: 'allow', channel: 'web' };
    const res = await fetch(`${t.base}/v1/events?source=sim`, { method: 'POST', headers: { authorization: `Bearer ${await t.token('app-sim')}`, 'content-type': 'application/x-ndjson' }, body: `${JSON.stringify(poison)}\n` });
    expect(res.status, await res.clone().text()).toBe(200);
    await vi.waitFor(async () => {
      const health = await t!.call('GET', '/healthz');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({ status: 'degraded', detection: { state: 'failed', restarts: 1 } });
    }, untilLoadedDeadline);
    const deaths = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg?.includes('live detection worker died'));
    expect(deaths.map((d) => [d.level, d.deaths, d.restartInMs])).toEqual([[50, 1, 10], [50, 2, undefined]]);
    expect(deaths[1].msg).toContain('stopped until the server restarts');
    expect(deaths[1].err.message).toContain('fault injected for a test (throw)');
  }, SLOW);
});
