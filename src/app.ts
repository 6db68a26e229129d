/**
 * The composition root: wires the foundations (store, vault, policy, ledger, stream) into
 * the services (broker, record manager) once, for `custos serve` and the CLI alike, so the
 * CLI's reveal takes exactly the path an HTTP reveal takes.
 */
import type { CustosConfig } from './config.ts';
import type { Logger } from './log.ts';
import { Broker } from './broker/broker.ts';
import { LedgerRecorder, publishCommitted } from './broker/ledger-recorder.ts';
import { RecordManager } from './broker/manage.ts';
import { LiveDetection, type LiveDetectionDeps } from './broker/live-detection.ts';
import type { DetectionOptions } from './detect/engine.ts';
import { loadPlaces } from './detect/places.ts';
import { ConfigError, InvalidInputError } from './errors.ts';
import type { Recorder } from './broker/recorder.ts';
import { TokenVerifier, loadOrCreateTokenIssuer, type TokenIssuer } from './identity/tokens.ts';
import { LedgerAppender, LedgerCheckpointer, loadOrCreateSigningKeys, type LedgerSigningKeys } from './ledger/index.ts';
import { loadPolicyEngine, type PolicyEngine } from './policy/index.ts';
import { ledgerEventSource } from './stream/ledger-source.ts';
import { InProcessStream, type EventStream } from './stream/stream.ts';
import { Store } from './store/store.ts';
import { openVault, type Vault } from './vault/index.ts';
import { vaultForStore } from './broker/key-ring-binding.ts';
import { clearSealedEntities } from './broker/clear-entity.ts';

export interface Custos {
  config: CustosConfig;
  store: Store;
  /** Seals, indexes and rotates; holds the keys and never hands one out. */
  vault: Vault;
  policy: PolicyEngine;
  stream: EventStream;
  signingKeys: LedgerSigningKeys;
  appender: LedgerAppender;
  checkpointer: LedgerCheckpointer;
  /** Where every decision is written (the broker's, the record manager's, ledger reads). */
  recorder: Recorder;
  broker: Broker;
  records: RecordManager;
  tokenIssuer: TokenIssuer;
  verifier: TokenVerifier;
  /** Live detection, when opened with `detect`. */
  detection?: LiveDetection;
  now: () => Date;
  close(): Promise<void>;
}

export interface OpenOptions {
  logger?: Logger;
  now?: () => Date;
  /** Extra knobs for tests and benchmarks. */
  dataKeyCacheSize?: number;
  /** Run detection live on the event stream, storing alerts (`custos serve`; CUSTOS_DETECT). */
  detect?: boolean | DetectionOptions;
  /** Tests only: how live detection's worker dies, and how soon it is restarted. */
  detectionFaults?: Pick<LiveDetectionDeps, 'fault' | 'restarts'>;
}

export async function openCustos(config: CustosConfig, opts: OpenOptions = {}): Promise<Custos> {
  const now = opts.now ?? (() => new Date());
  // Policies and key files first: a bad policy or key file stops start-up before the store is touched.
  const policy = loadPolicyEngine({ dir: config.policyDir, cacheSize: config.policyCacheSize });
  const detectionOptions = opts.detect ? liveDetectionOptions(config, opts.detect) : undefined;
  for (const warning of policy.warnings) opts.logger?.warn({ warning }, 'policy validation warning');
  const found = openVault({ dir: config.keyDir });
  const tokenIssuer = await loadOrCreateTokenIssuer(config.keyDir);

  const store = await Store.open(config.store, {
    eventIndex: { onError: (err: unknown) => opts.logger?.error({ err }, 'access-event index projection failed') },
    onError: (err: unknown) => opts.logger?.error({ err }, 'store background thread failed'),
    onShredIncomplete: (why: string) => opts.logger?.warn({ why }, 'customer deleted; an old copy of its row may remain until the database reclaims it'),
  });
  let vault: Vault;
  let signingKeys: LedgerSigningKeys;
  try {
    // Keys are made only for an empty store; a store with data is opened only with its own ring.
    vault = await vaultForStore(store, { keyDir: config.keyDir, found, now, createIfEmpty: true });
    signingKeys = await loadOrCreateSigningKeys(config.keyDir, {
      now,
      ...(config.ledger.origin ? { origin: config.ledger.origin } : {}),
      mayCreate: async () => (await store.ledger.size()) === 0,
    });
    // Everything opened here records decisions: start the store's threads now, so that the first
    // append does not spend its deadline (CUSTOS_LEDGER_APPEND_TIMEOUT_MS) starting one.
    await store.warmUp();
  } catch (err) {
    await store.close();
    throw err;
  }
  const stream = new InProcessStream({
    source: ledgerEventSource(store.ledger),
    // Entries another process appends after this are read from the ledger when this one next commits.
    head: await store.ledger.size(),
    onSubscriberError: (err, subscriber) => opts.logger?.error({ err, subscriber }, 'event stream subscriber failed'),
    // Info, not warn: besides a subscriber falling behind, this is how entries another process
    // appends (a `custos ingest` beside the server) are read, every second while it runs.
    onCatchUp: (subscriber, from) => opts.logger?.info({ subscriber, from }, 'event stream subscriber reads from the ledger (it fell behind, or another process appended)'),
  });
  const { appender, checkpointer, recorder } = await openLedgerWriter(config, store, signingKeys, { now, stream, ...(opts.logger ? { logger: opts.logger } : {}) });
  const broker = new Broker({ store, vault, policy, recorder, now, ...(opts.dataKeyCacheSize !== undefined ? { dataKeyCacheSize: opts.dataKeyCacheSize } : {}) });
  await broker.loadBudgets();
  // Customers imported when `entity` was sealed as PII: the notice path reads it in clear.
  const movedEntities = await clearSealedEntities({ store, vault, recorder, now }, { channel: 'cli' });
  if (movedEntities > 0) opts.logger?.info({ customers: movedEntities }, 'customer entities moved from sealed PII to the clear attribute');
  const records = new RecordManager({ store, vault, policy, recorder, broker, now });
  const verifier = new TokenVerifier({
    localPublicJwks: [tokenIssuer.publicJwk],
    ...(config.auth.jwksUrl ? { jwksUrl: config.auth.jwksUrl } : {}),
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    now,
  });

  let detection: LiveDetection | undefined;
  if (opts.detect) {
    detection = new LiveDetection({
      store, stream, now,
      ...(detectionOptions ? { options: detectionOptions } : {}),
      onError: (err) => opts.logger?.error({ err }, 'live detection failed'),
      onWorkerDeath: ({ err, deaths, restartInMs }) =>
        restartInMs === undefined
          ? opts.logger?.error({ err, deaths }, 'live detection worker died too often; detection has stopped until the server restarts')
          : opts.logger?.error({ err, deaths, restartInMs }, 'live detection worker died; a new one replays the ledger'),
      ...opts.detectionFaults,
    });
    await detection.start();
  }

  let closing: Promise<void> | undefined;
  return {
    config, store, vault, policy, stream, signingKeys, appender, checkpointer, recorder, broker, records, tokenIssuer, verifier, now,
    ...(detection ? { detection } : {}),
    close() {
      // Drain the recorder, sign a final checkpoint, then let the store go.
      closing ??= (async () => {
        await recorder.close();
        // Before the store goes; what detection has not reached yet it reaches after the next start.
        await detection?.close();
        await checkpointer.close();
        await stream.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** The ledger's writing side over an open store: group-commit appender, checkpointer, recorder. */
export interface LedgerWriter {
  appender: LedgerAppender;
  /** Signs every `checkpointEvery` entries, every `checkpointIntervalMs` while the log grows, and on close. */
  checkpointer: LedgerCheckpointer;
  recorder: LedgerRecorder;
}

/**
 * The one way entries reach the ledger, for `custos serve` and the CLI alike: the CLI's
 * operator acts land in the same tree, through the same appender and checkpointer path.
 * Close the recorder, then the checkpointer (which signs a final checkpoint).
 */
export async function openLedgerWriter(
  config: CustosConfig,
  store: Store,
  signingKeys: LedgerSigningKeys,
  opts: { now: () => Date; logger?: Logger; stream?: EventStream },
): Promise<LedgerWriter> {
  let checkpointer: LedgerCheckpointer | undefined;
  const publish = opts.stream ? publishCommitted(opts.stream) : undefined;
  const appender = await LedgerAppender.open(store.ledger, {
    maxBatch: config.ledger.maxBatch,
    minBatchIntervalMs: config.ledger.batchIntervalMs,
    timeoutMs: config.ledger.appendTimeoutMs,
    // Publishing first and synchronously keeps the stream in ledger order; signing may take its time.
    onCommitted: (start, entries, notes) => {
      publish?.(start, entries, notes);
      return checkpointer?.noteAppended(start + entries.length);
    },
    onHookError: (err) => opts.logger?.error({ err }, 'after-commit hook failed'),
  });
  checkpointer = await LedgerCheckpointer.open(store.ledger, signingKeys.signer(), {
    every: config.ledger.checkpointEvery,
    intervalMs: config.ledger.checkpointIntervalMs,
    now: opts.now,
  });
  checkpointer.start((err) => opts.logger?.error({ err }, 'checkpoint signing failed'));
  return { appender, checkpointer, recorder: new LedgerRecorder(appender) };
}

/** Live detection's options: those given, with the places file of CUSTOS_PLACES read and checked (a bad one stops start-up). */
function liveDetectionOptions(config: CustosConfig, detect: true | DetectionOptions): DetectionOptions | undefined {
  const given = typeof detect === 'object' ? detect : undefined;
  if (config.placesFile === undefined) return given;
  try {
    return { ...given, places: loadPlaces(config.placesFile) };
  } catch (err) {
    if (err instanceof InvalidInputError) throw new ConfigError(`CUSTOS_PLACES: ${err.message}`, err.details);
    throw err;
  }
}
