/**
 * Detection live, inside `custos serve`: the detection engine subscribes to the ordered event
 * stream (every event the broker records, every management and analyst act, every ingested
 * event) and stores the alerts it raises or updates. It runs off the request path: publishing
 * never waits for a subscriber, and the engine itself runs in a worker thread
 * (detection-worker.ts), so its work per event never holds up a request on the main thread. The
 * main thread hands the worker each batch the stream delivers, in ledger order, a slice at a
 * time, and stores what comes back; the worker's directory gets the same records, in the same
 * order relative to the events, as an engine in this thread would.
 *
 * The engine's state (baselines, episodes) lives in memory, bounded by employees and customers.
 * After a restart it is rebuilt by replaying the ledger from its start; alerts are stored only
 * from the stored position on, so a restart neither loses nor repeats an alert (and storing is
 * idempotent besides). The directory (employees, customer flags, cases) is loaded from the
 * store at start and kept current by the management events in the stream and by reloading a
 * kind when an import of it completes.
 *
 * When the worker dies (an exception out of the engine, out of memory, an exit), its state is
 * gone, so detection starts over exactly as a server restart does: a new worker, the directory
 * read again, the stream from the ledger's start, alerts stored from the stored position on. The
 * dead worker's batch stored nothing and moved the position nowhere, so no event is lost or
 * handled twice. Restarts wait longer after each death; after `maxDeaths` within `windowMs`, or
 * in a row with no worker getting further into the ledger than one before it (an event that
 * kills every replay, however long replays take), detection stops and says so (`health()`,
 * `/healthz`) until the server restarts.
 *
 * Entries another process appends (a `custos ingest` while the server runs) reach this
 * process's stream only with its own next commit; so every `followMs` detection reads the
 * ledger's size and, when it grew, tells the stream, whose subscribers then read the new entries.
 */
import type { Alert } from '../detect/alert.ts';
import type { DetectionOptions } from '../detect/engine.ts';
import { UnavailableError } from '../errors.ts';
import type { RecordedEvent } from '../model.ts';
import type { DetectedAlert } from '../store/alerts.ts';
import type { Store } from '../store/store.ts';
import type { EventStream, Subscription } from '../stream/stream.ts';
import { WorkerRpc } from '../worker-rpc.ts';
import type { DetectionRequest, DetectionWorkerData, DetectionWorkerFault, WorkerFinding } from './detection-protocol.ts';

const WORKER_MODULE = new URL('./detection-worker.ts', import.meta.url);
/** Events handed to the worker in one message (cloning a long catch-up at once would hold up requests). */
const SLICE = 500;
/** Save the position at least this often (events), even with no alert to store. */
const POSITION_EVERY_EVENTS = 10_000;
const POSITION_EVERY_MS = 5_000;
const PAGE = 1000;

export interface LiveDetectionDeps {
  store: Store;
  stream: EventStream;
  now: () => Date;
  options?: DetectionOptions;
  /** Names the position in the store and the subscriber in logs. */
  name?: string;
  /** How often to look for entries other processes appended (default 1,000 ms). */
  followMs?: number;
  /** Wait before storing alerts again after a failure (default 1,000 ms). */
  retryMs?: number;
  /** When to start a new worker after one died, and when to stop trying. */
  restarts?: RestartPolicy;
  /** Failures detection goes on after (storing alerts, reading the ledger's size). */
  onError?: (err: unknown) => void;
  /** The worker died: detection restarts it in `restartInMs`, or (without it) has stopped. */
  onWorkerDeath?: (death: WorkerDeath) => void;
  /** Tests only: make the worker die (detection-protocol.ts). */
  fault?: DetectionWorkerFault;
}

export interface RestartPolicy {
  /** The wait before the first restart, doubled for each further death in the window (default 1,000 ms). */
  backoffMs?: number;
  /** The longest wait (default 60,000 ms). */
  maxBackoffMs?: number;
  /** Deaths within `windowMs` at which detection stops restarting and reports itself failed (default 5). */
  maxDeaths?: number;
  /** Default 15 minutes. Deaths older than this stop counting only once a worker got further than any before it. */
  windowMs?: number;
}

export interface WorkerDeath {
  /** What killed it: an UnavailableError naming the exit code or the thread's error (its `cause`). */
  err: Error;
  /** Deaths within the window, this one included. */
  deaths: number;
  /** When the next worker starts; absent once detection gave up. */
  restartInMs?: number;
}

/** What `/healthz` says of detection; never an error's text, since anyone may ask. */
export interface DetectionHealth {
  /** `restarting`: a worker died and the next one is not yet subscribed; `failed`: it died too often and detection stopped until the server restarts. */
  state: 'running' | 'restarting' | 'failed';
  /** The next ledger index detection has not handled (from 0 again while a new worker replays). */
  handled: number;
  /** Workers started after a death, since the server started. */
  restarts: number;
}

/** One worker's engine; `lost` once it died, after which nothing is sent to it. */
interface EngineRun {
  worker: WorkerRpc;
  lost?: Error;
}

export class LiveDetection {
  private readonly name: string;
  private readonly workerData: DetectionWorkerData;
  private run: EngineRun | undefined;
  private subscription: Subscription | undefined;
  /** Alerts were stored for everything below this before the current run started. */
  private resumeAt = 0;
  private savedPosition = 0;
  private savedAt = 0;
  private position = 0;
  /** Saves the position once the stream goes quiet, so that a restart replays little without storing. */
  private idleSave: NodeJS.Timeout | undefined;
  private idleSaving: Promise<void> | undefined;
  private follow: NodeJS.Timeout | undefined;
  /** Set while a dead worker is replaced. */
  private recovery: Promise<void> | undefined;
  private wakeFromBackoff: (() => void) | undefined;
  /** When workers died (monotonic ms), within the restart window. */
  private deaths: number[] = [];
  /** The furthest position any run reached before its worker died. */
  private furthest = 0;
  private restarts = 0;
  /** Set once detection gave up restarting. */
  private failed = false;
  private closed = false;

  constructor(private readonly deps: LiveDetectionDeps) {
    this.name = deps.name ?? 'live';
    // Data only crosses to the thread (a callback cannot).
    const { onFinding: _callback, ...options } = deps.options ?? {};
    this.workerData = { options, ...(deps.fault ? { fault: deps.fault } : {}) };
  }

  /** Start the engine's worker and load its directory, then subscribe from the ledger's start. */
  async start(): Promise<void> {
    try {
      await this.begin();
    } catch (err) {
      this.closed = true;
      await this.run?.worker.close();
      throw err;
    }
    this.follow = setInterval(() => void this.followLedger().catch((err) => this.deps.onError?.(err)), this.deps.followMs ?? 1000).unref();
  }

  /**
   * A new engine, as at a server start: a worker, the directory, the stream from the ledger's
   * start, and alerts stored only from the stored position on.
   */
  private async begin(): Promise<void> {
    const run = {} as EngineRun;
    run.worker = new WorkerRpc('detection worker', WORKER_MODULE, this.workerData, (err) => this.workerFailed(run, err));
    this.run = run;
    await run.worker.start();
    await this.loadDirectory();
    this.resumeAt = await this.deps.store.alerts.position(this.name);
    this.savedPosition = this.resumeAt;
    this.savedAt = Date.now();
    this.position = 0;
    if (run.lost) throw run.lost;
    this.subscription = this.deps.stream.subscribe({ from: 0, name: `detection:${this.name}` }, (events) => this.handleFor(run, events));
  }

  private workerFailed(run: EngineRun, err: unknown): void {
    if (this.closed || run.lost) return;
    if (!(err instanceof UnavailableError)) {
      this.deps.onError?.(err);
      return;
    }
    run.lost = err;
    // During a recovery its own loop sees the new worker's death.
    if (run === this.run && !this.recovery) this.recovery = this.recover(err).finally(() => (this.recovery = undefined));
  }

  /** Replaces a dead worker after a back-off, until too many died in the window. */
  private async recover(cause: Error): Promise<void> {
    const policy = this.deps.restarts ?? {};
    for (;;) {
      await this.stopRun();
      if (this.closed) return;
      const now = performance.now();
      // A worker that died no further on than an earlier one may die there every time.
      if (this.position > this.furthest) this.deaths = this.deaths.filter((at) => now - at < (policy.windowMs ?? 15 * 60_000));
      this.furthest = Math.max(this.furthest, this.position);
      this.deaths.push(now);
      if (this.deaths.length >= (policy.maxDeaths ?? 5)) {
        this.failed = true;
        this.deps.onWorkerDeath?.({ err: cause, deaths: this.deaths.length });
        return;
      }
      const wait = Math.min(policy.maxBackoffMs ?? 60_000, (policy.backoffMs ?? 1000) * 2 ** (this.deaths.length - 1));
      this.deps.onWorkerDeath?.({ err: cause, deaths: this.deaths.length, restartInMs: wait });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        timer.unref();
        this.wakeFromBackoff = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeFromBackoff = undefined;
      if (this.closed) return;
      this.restarts++;
      try {
        await this.begin();
        if (!this.run?.lost) return;
        cause = this.run.lost;
      } catch (err) {
        cause = err instanceof Error ? err : new Error(String(err));
      }
    }
  }

  /** Ends the current run: its subscription (whose handler returns at once once the worker is lost), a pending save, the worker. */
  private async stopRun(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
    clearTimeout(this.idleSave);
    this.idleSave = undefined;
    // The next run reads the stored position: it must be the last one written.
    await this.idleSaving;
    await this.run?.worker.close();
  }

  /** An empty stretch ending at the ledger's size: the stream ignores it unless others appended. */
  private async followLedger(): Promise<void> {
    const size = await this.deps.store.ledger.size();
    this.deps.stream.publish({ from: size, to: size, events: [] });
  }

  /** Read every employee, customer flag and case again (after records were written outside the stream, e.g. the demo seed). */
  async reloadDirectory(): Promise<void> {
    // A worker started meanwhile reads the directory itself.
    await this.recovery;
    const run = this.run;
    if (this.failed || !run) return;
    try {
      await this.loadDirectory();
    } catch (err) {
      if (!run.lost) throw err;
    }
  }

  private async loadDirectory(): Promise<void> {
    for (const kind of ['employees', 'customers', 'cases'] as const) await this.load(kind);
  }

  /** The next ledger index detection has not handled. */
  get handled(): number {
    return this.subscription?.position ?? this.position;
  }

  health(): DetectionHealth {
    return { state: this.failed ? 'failed' : this.recovery ? 'restarting' : 'running', handled: this.handled, restarts: this.restarts };
  }

  /** Stop, and store how far detection got. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.follow);
    this.wakeFromBackoff?.();
    await this.recovery;
    await this.subscription?.close();
    clearTimeout(this.idleSave);
    await this.idleSaving;
    if (this.position > this.savedPosition) await this.savePosition([]);
    await this.run?.worker.close();
  }

  /** The subscription's handler for one run: once its worker died, the batch is left to the next run's replay. */
  private async handleFor(run: EngineRun, events: readonly RecordedEvent[]): Promise<void> {
    try {
      await this.handle(events);
    } catch (err) {
      if (!run.lost) throw err;
    }
  }

  private async handle(events: readonly RecordedEvent[]): Promise<void> {
    const found: WorkerFinding[] = [];
    let start = 0;
    for (let i = 0; i <= events.length; i++) {
      // Up to an import's outcome (its kind is read again before the event itself), a slice's end, or the batch's end.
      const reload = i < events.length ? importedKind(events[i]!) : undefined;
      if (i < events.length && !reload && i - start < SLICE) continue;
      if (i > start) {
        // Below the resume point alerts were stored before the restart: the replay only rebuilds state.
        for (const f of await this.observe(events.slice(start, i))) found.push(f);
        start = i;
      }
      if (reload) await this.load(reload);
    }
    this.position = events.at(-1)!.seq + 1;
    if (this.position <= this.resumeAt) return;
    const due = this.position - this.savedPosition >= POSITION_EVERY_EVENTS || Date.now() - this.savedAt >= POSITION_EVERY_MS;
    if (found.length > 0 || due) await this.savePosition(found);
    else this.idleSave ??= setTimeout(() => (this.idleSaving = this.savePosition([]).catch((err) => this.deps.onError?.(err))), POSITION_EVERY_MS).unref();
  }

  /**
   * Store what was found, in the store's alias, and the position reached. A failure (of either)
   * is reported and tried again (the stream waits meanwhile), since the position must never pass
   * an alert that was not stored, and the engine has seen the events already.
   */
  private async savePosition(found: WorkerFinding[]): Promise<void> {
    clearTimeout(this.idleSave);
    this.idleSave = undefined;
    const position = this.position;
    for (let attempt = 1; ; attempt++) {
      try {
        const detected: DetectedAlert[] = [];
        for (const f of found) detected.push({ alert: await this.pseudonymised(f), seq: f.seq });
        await this.deps.store.alerts.saveDetections(this.name, detected, position, this.deps.now());
        break;
      } catch (err) {
        this.deps.onError?.(err);
        if (this.closed && attempt >= 3) throw err;
        await new Promise((resolve) => setTimeout(resolve, this.deps.retryMs ?? 1000).unref());
      }
    }
    this.savedPosition = Math.max(this.savedPosition, position);
    this.savedAt = Date.now();
  }

  /** Events to the engine, in order; the alerts raised at or after the resume point. */
  private async observe(events: RecordedEvent[]): Promise<WorkerFinding[]> {
    return (await this.call({ kind: 'observe', events, reportFrom: this.resumeAt })) as WorkerFinding[];
  }

  private call(request: DetectionRequest): Promise<unknown> {
    const run = this.run!;
    // WorkerRpc would start a fresh worker, knowing nothing of the events before: only begin() may.
    if (run.lost) return Promise.reject(new UnavailableError(`live detection's worker stopped (${run.lost.message}); a new one replays the ledger`));
    return run.worker.call(request);
  }

  /** The alert in the store's alias: the engine's own alias (and any id) in its words are replaced. */
  private async pseudonymised({ alert, engineAlias }: WorkerFinding): Promise<Alert> {
    const alias = await this.deps.store.alerts.aliasOf(alert.employee);
    const hide = (text: string) => text.split(engineAlias).join(alias).split(alert.employee).join(alias);
    return {
      ...alert,
      explanation: hide(alert.explanation),
      detectors: alert.detectors.map((d) => ({ ...d, evidence: { ...d.evidence, summary: hide(d.evidence.summary) } })),
    };
  }

  /** (Re)load one kind of record into the worker's directory, a page at a time. */
  private async load(kind: 'employees' | 'customers' | 'cases'): Promise<void> {
    const store = this.deps.store;
    let after = '';
    for (;;) {
      const page = kind === 'employees'
        ? await store.employees.list({ after, limit: PAGE })
        : kind === 'customers'
          ? await store.customers.flagsAfter(after, PAGE)
          : await store.cases.list({ after, limit: PAGE }, this.deps.now());
      if (page.length > 0) await this.call({ kind: 'put', of: kind, records: page } as DetectionRequest);
      if (page.length < PAGE) return;
      after = page.at(-1)!.id;
    }
  }
}

/** The kind of records an event says were imported (an import's recorded outcome), if any. */
function importedKind(event: RecordedEvent): 'employees' | 'customers' | 'cases' | undefined {
  // An ingested line dressed as an import's outcome would make detection reload the whole directory per line.
  if (event.details?.ingested === true) return undefined;
  if (event.operation !== 'import' || event.target?.type !== 'directory' || event.details?.result !== 'done') return undefined;
  const kind = event.target.id;
  return kind === 'employees' || kind === 'customers' || kind === 'cases' ? kind : undefined;
}
