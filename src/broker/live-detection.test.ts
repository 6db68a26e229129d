import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { untilLoadedDeadline } from '../../test/support/wait.ts';
import type { DetectedAlert } from '../store/alerts.ts';
import type { Store } from '../store/store.ts';
import { parseAccessEvent, parseCase, parseCustomerFlags, parseEmployee, type RecordedEvent } from '../model.ts';
import { simulateToDirectory } from '../simulate/simulate.ts';
import { InProcessStream } from '../stream/stream.ts';
import type { DetectionWorkerFault } from './detection-protocol.ts';
import { LiveDetection, type LiveDetectionDeps, type WorkerDeath } from './live-detection.ts';

interface Save {
  found: DetectedAlert[];
  position: number;
}

/** A store with one agent and one canary customer, whose first attempt to store alerts (or to alias their subject) fails. */
function fakeStore(saved: Save[], ledger: RecordedEvent[], fails: 'saveDetections' | 'aliasOf' = 'saveDetections') {
  let failures = 1;
  const failOnce = (what: typeof fails) => {
    if (what === fails && failures-- > 0) throw new Error('database is locked');
  };
  const store = {
    employees: { list: async ({ after }: { after?: string }) => (after ? [] : [{ id: 'e1', name: 'E', team: 'support', role: 'agent', location: 'Milan', hiredAt: '2024-01-01T00:00:00.000Z', status: 'active' }]) },
    customers: { flagsAfter: async (after: string) => (after ? [] : [{ id: 'c1', country: 'IT', canary: true, vip: false }]) },
    cases: { list: async () => [] },
    ledger: { size: async () => ledger.length },
    alerts: {
      position: async () => 0,
      aliasOf: async () => {
        failOnce('aliasOf');
        return 'S-0000000001';
      },
      saveDetections: async (_name: string, found: DetectedAlert[], position: number) => {
        failOnce('saveDetections');
        saved.push({ found, position });
      },
    },
  };
  return store as unknown as Store;
}

describe('live detection', () => {
  it.each(['saveDetections', 'aliasOf'] as const)('stores an alert that a failed %s would have lost, trying again before it goes on', async (fails) => {
    const touch: RecordedEvent = { seq: 0, id: 'ev-1', time: '2026-03-02T10:00:00.000Z', actor: 'e1', action: 'view', customers: ['c1'], fields: ['email'], decision: 'allow' };
    const saved: Save[] = [];
    const ledger = [touch];
    const stream = new InProcessStream({ source: { async *read(from, to) { yield ledger.slice(from, to); } }, head: 0 });
    const errors: unknown[] = [];
    const detection = new LiveDetection({ store: fakeStore(saved, ledger, fails), stream, now: () => new Date(), retryMs: 1, followMs: 60_000, onError: (err) => errors.push(err) });
    await detection.start();
    stream.publish({ from: 0, to: 1, events: [touch] });
    await vi.waitFor(() => expect(saved).toHaveLength(1), untilLoadedDeadline);
    expect(errors).toHaveLength(1);
    expect(saved[0]!.position).toBe(1);
    expect(saved[0]!.found.map((d) => [d.seq, d.alert.employee, d.alert.severity])).toEqual([[0, 'e1', 'critical']]);
    // The explanation names the subject by the store's alias, never by the id.
    expect(saved[0]!.found[0]!.alert.explanation).toContain('S-0000000001');
    expect(saved[0]!.found[0]!.alert.explanation).not.toContain('e1 ');
    await detection.close();
    await stream.close();
  });
});

/**
 * A simulated organisation's directory and events as the store and the ledger would give them.
 * The store keeps every save it is asked for, so an alert stored twice shows (a real store's
 * idempotent write would hide it), and answers the stored position as a restart reads it.
 */
class RecordingStore {
  readonly saves: Save[] = [];
  private stored = 0;

  constructor(private readonly org: SimulatedOrg) {}

  get store(): Store {
    const org = this.org;
    const page = <T extends { id: string }>(all: T[], after: string | undefined, limit: number) => all.filter((r) => r.id > (after ?? '')).slice(0, limit);
    return {
      employees: { list: async ({ after, limit }: { after?: string; limit: number }) => page(org.employees, after, limit) },
      customers: { flagsAfter: async (after: string, limit: number) => page(org.customers, after, limit) },
      cases: { list: async ({ after, limit }: { after?: string; limit: number }) => page(org.cases, after, limit) },
      ledger: { size: async () => org.events.length },
      alerts: {
        position: async () => this.stored,
        aliasOf: async (employee: string) => `S-${employee}`,
        saveDetections: async (_name: string, found: DetectedAlert[], position: number) => {
          this.saves.push({ found, position });
          this.stored = Math.max(this.stored, position);
        },
      },
    } as unknown as Store;
  }

  /** Every alert stored, in the order stored, with the event it was raised or updated at. */
  get found(): DetectedAlert[] {
    return this.saves.flatMap((s) => s.found);
  }
}

interface SimulatedOrg {
  employees: Array<ReturnType<typeof parseEmployee>>;
  customers: Array<ReturnType<typeof parseCustomerFlags>>;
  cases: Array<ReturnType<typeof parseCase>>;
  events: RecordedEvent[];
}

function simulatedOrg(): SimulatedOrg {
  const dir = mkdtempSync(join(tmpdir(), 'custos-live-worker-'));
  try {
    simulateToDirectory({ employees: 30, customers: 300, days: 8, seed: 5, start: new Date('2026-03-02T00:00:00Z') }, dir);
    const lines = (file: string) => readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
    const byId = (x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
    return {
      employees: lines('employees.jsonl').map((r) => parseEmployee(r)).sort(byId),
      customers: lines('customers.jsonl').map((r) => parseCustomerFlags(r)).sort(byId),
      cases: lines('cases.jsonl').map((r) => parseCase(r)).sort(byId),
      events: lines('events.jsonl').map((r, seq) => ({ ...parseAccessEvent(r), seq })),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs live detection over the whole organisation, its events committed in stretches of 300 as the ledger commits batches. */
async function detectLive(org: SimulatedOrg, opts: Pick<LiveDetectionDeps, 'fault' | 'restarts' | 'options'> = {}) {
  const recording = new RecordingStore(org);
  const deaths: WorkerDeath[] = [];
  const errors: unknown[] = [];
  const stream = new InProcessStream({ source: { async *read(from, to) { yield org.events.slice(from, to); } }, head: 0 });
  const detection = new LiveDetection({
    store: recording.store, stream, now: () => new Date(), retryMs: 1, followMs: 60_000,
    onError: (err) => errors.push(err),
    onWorkerDeath: (death) => deaths.push(death),
    ...opts,
  });
  await detection.start();
  for (let from = 0; from < org.events.length; from += 300) {
    const to = Math.min(org.events.length, from + 300);
    stream.publish({ from, to, events: org.events.slice(from, to) });
  }
  const finish = async () => {
    await detection.close();
    await stream.close();
  };
  return { detection, recording, deaths, errors, finish };
}

/** Once every event was handled, by the engine that was running when the stream ended. */
async function untilHandled(detection: LiveDetection, size: number): Promise<void> {
  await vi.waitFor(() => expect(detection.health()).toMatchObject({ state: 'running', handled: size }), untilLoadedDeadline);
}

const found = (d: DetectedAlert) => [d.seq, d.alert.id, d.alert.score, d.alert.updatedAt];

describe('live detection when its worker dies', () => {
  let org: SimulatedOrg;
  /** The alerts stored by a run whose worker never died. */
  let reference: DetectedAlert[];
  /** The event at which the middle alert was raised or updated: where the worker is made to die. */
  let deathAt: number;

  const fault = (how: DetectionWorkerFault['how'], deaths: number): DetectionWorkerFault => {
    const remaining = new Int32Array(new SharedArrayBuffer(4));
    remaining[0] = deaths;
    return { event: org.events[deathAt]!.id, how, remaining };
  };

  beforeAll(async () => {
    org = simulatedOrg();
    const run = await detectLive(org);
    await untilHandled(run.detection, org.events.length);
    await run.finish();
    expect(run.deaths).toEqual([]);
    reference = run.recording.found;
    expect(reference.length).toBeGreaterThan(4);
    deathAt = reference[Math.floor(reference.length / 2)]!.seq;
    // Alerts stored before the death and after it.
    expect(reference[0]!.seq).toBeLessThan(deathAt);
    expect(reference.at(-1)!.seq).toBeGreaterThan(deathAt);
  }, 120_000);

  for (const how of ['throw', 'exit'] as const) {
    it(`restarts a worker that died (${how}) mid-stream and stores the same alerts, none twice`, async () => {
      const run = await detectLive(org, { fault: fault(how, 1), restarts: { backoffMs: 10 } });
      await vi.waitFor(() => expect(run.deaths).toHaveLength(1), untilLoadedDeadline);
      await untilHandled(run.detection, org.events.length);
      await run.finish();
      expect(run.errors).toEqual([]);
      // Logged with its cause, and restarted.
      const [death] = run.deaths;
      expect(death!.restartInMs).toBe(10);
      expect(how === 'throw' ? (death!.err.cause as Error).message : death!.err.message).toMatch(how === 'throw' ? /fault injected for a test \(throw\)/ : /exit code 70/);
      expect(run.detection.health().restarts).toBe(1);
      expect(run.recording.found.map(found)).toEqual(reference.map(found));
      // The position stored never passes an alert not yet stored, nor goes back.
      const positions = run.recording.saves.map((s) => s.position);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      for (const save of run.recording.saves) expect(save.found.every((d) => d.seq < save.position)).toBe(true);
    }, 120_000);
  }

  it('stops restarting after too many deaths with no progress between them, and says so', async () => {
    // The worker dies at the same event on every replay (a detector's bug that event sets off),
    // however far apart the deaths: on a large ledger a replay takes longer than any window.
    const run = await detectLive(org, { fault: fault('throw', 1_000), restarts: { backoffMs: 5, maxDeaths: 3, windowMs: 1 } });
    await vi.waitFor(() => expect(run.detection.health().state).toBe('failed'), untilLoadedDeadline);
    expect(run.deaths.map((d) => [d.deaths, d.restartInMs])).toEqual([[1, 5], [2, 10], [3, undefined]]);
    expect(run.detection.health()).toMatchObject({ state: 'failed', restarts: 2 });
    // What was stored before the death stays, once; nothing at or past the event that kills it.
    const stored = run.recording.found;
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.map(found)).toEqual(reference.slice(0, stored.length).map(found));
    expect(stored.every((d) => d.seq < deathAt)).toBe(true);
    await run.finish();
  }, 120_000);

  it('closes while waiting to restart', async () => {
    const run = await detectLive(org, { fault: fault('exit', 1), restarts: { backoffMs: 600_000 } });
    await vi.waitFor(() => expect(run.detection.health().state).toBe('restarting'), untilLoadedDeadline);
    await run.finish();
    expect(run.detection.health().restarts).toBe(0);
  }, 120_000);
});

describe('live detection with a places file', () => {
  it('hands the places to its worker: an account used in two far places at once raises an alert', async () => {
    const org = simulatedOrg();
    const last = org.events.at(-1)!;
    const who = org.employees[0]!.id;
    const at = (minutes: number) => new Date(Date.parse(last.time) + minutes * 60_000).toISOString();
    const view = (id: string, minutes: number, ip: string, actor = who): RecordedEvent => ({
      ...parseAccessEvent({ id, time: at(minutes), actor, action: 'view', customers: [org.customers[1]!.id], fields: [], decision: 'allow', channel: 'console', ip }),
      seq: org.events.length,
    });
    org.events.push(view('ev-trip-1', 1, '192.0.2.10'));
    org.events.push(view('ev-trip-2', 31, '198.51.100.10'));
    // Findings are held for half an hour (team-wide causes); a later event releases them.
    org.events.push(view('ev-later', 120, '10.1.0.9', org.employees[1]!.id));
    const places = [
      { cidr: '192.0.2.0/24', place: 'Lisbon office', lat: 38.72, lon: -9.14 },
      { cidr: '198.51.100.0/24', place: 'Singapore office', lat: 1.29, lon: 103.85 },
    ];
    const run = await detectLive(org, { options: { places, threshold: 40 } });
    await untilHandled(run.detection, org.events.length);
    await run.finish();
    expect(run.errors).toEqual([]);
    const trip = run.recording.found.find((d) => d.seq === org.events.length - 1 && d.alert.employee === who);
    expect(trip?.alert.detectors.map((d) => d.name)).toEqual(['time_place']);
    expect(trip?.alert.detectors.find((d) => d.name === 'time_place')?.evidence.summary).toContain('impossible travel: data accessed from Lisbon office (192.0.2.0/24)');
  }, 120_000);
});
