/**
 * The one configuration loader: command-line flags win over CUSTOS_* environment
 * variables, which win over defaults. Every value is checked here, with an error naming it.
 */
import { resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { DEFAULT_DECISION_CACHE_SIZE } from './policy/index.ts';
import { resolveStoreLocation, type StoreLocation } from './store/store.ts';

export interface CustosConfig {
  host: string;
  port: number;
  /** Directory for the embedded store and the key files. */
  dataDir: string;
  store: StoreLocation;
  policyDir: string;
  /** Cedar answers remembered per process (0: ask Cedar every time). */
  policyCacheSize: number;
  /** Where key files live (KEK ring, ledger signing key, token signing key); defaults to dataDir. */
  keyDir: string;
  ledger: {
    /** Sign a checkpoint at least every this many entries… */
    checkpointEvery: number;
    /** …or this many milliseconds, whichever comes first. */
    checkpointIntervalMs: number;
    /** Largest group-commit batch. */
    maxBatch: number;
    /** Least time between the starts of two batches (group commit under steady load). */
    batchIntervalMs: number;
    /** An append not durable within this time fails the request. */
    appendTimeoutMs: number;
    /** Checkpoint origin line; chosen at key creation when unset. */
    origin?: string;
  };
  auth: {
    /** Accept tokens signed by this JWKS (an identity provider); the local issuer is always accepted. */
    jwksUrl?: string;
    issuer: string;
    audience: string;
    tokenTtlSeconds: number;
  };
  ingest: {
    /** Largest POST /v1/events body (413 beyond). */
    maxBytes: number;
  };
  /** Containment of an incident's subject (src/respond/incidents.ts). */
  containment: {
    /** POSTed to when a subject is contained (the marketplace's "block this seller", HR's system). */
    webhookUrl?: string;
    /** Attempts before giving up, the first included. */
    webhookAttempts: number;
    /** Wait before the second attempt; doubled before each further one. */
    webhookBackoffMs: number;
  };
  /** Run detection live inside `custos serve`. */
  detect: boolean;
  /** The places file live detection checks impossible travel with (CUSTOS_PLACES; src/detect/places.ts); unset, travel is not checked. */
  placesFile?: string;
  /** Seed the demo organisation when the store is empty (serve only). */
  demo: boolean;
  /** The company's legal entities and which holds each account (src/respond/entities.ts). */
  entitiesFile: string;
  /** The breach-notification rules table (src/respond/rules.ts). */
  rulesDir: string;
  /** The domain of customer notices' Message-IDs and From address (src/notify/). */
  noticeDomain: string;
  logLevel: string;
}

export interface ConfigFlags {
  host?: string;
  port?: string | number;
  data?: string;
  store?: string;
  policies?: string;
  keys?: string;
  demo?: boolean;
}

type Env = Record<string, string | undefined>;

function intFrom(name: string, raw: string | number | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

const DEFAULT_NOTICE_DOMAIN = 'notices.custos.invalid';
const DOMAIN_RE = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function isDomainName(raw: string): boolean {
  return DOMAIN_RE.test(raw);
}

function noticeDomainFrom(name: string, raw: string): string {
  if (!isDomainName(raw)) throw new ConfigError(`${name}: "${raw}" is not a domain name`);
  return raw;
}

function boolFrom(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function loadConfig(flags: ConfigFlags = {}, env: Env = process.env): CustosConfig {
  const dataDir = resolve(flags.data ?? env.CUSTOS_DATA ?? 'data');
  const storeUrl = flags.store ?? env.CUSTOS_STORE;
  const jwksUrl = env.CUSTOS_JWKS_URL;
  if (jwksUrl !== undefined && !/^https?:\/\//.test(jwksUrl)) throw new ConfigError(`CUSTOS_JWKS_URL must be an http(s) URL, got "${jwksUrl}"`);
  const webhookUrl = env.CUSTOS_CONTAINMENT_WEBHOOK;
  if (webhookUrl !== undefined && webhookUrl !== '' && !/^https?:\/\//.test(webhookUrl)) throw new ConfigError(`CUSTOS_CONTAINMENT_WEBHOOK must be an http(s) URL, got "${webhookUrl}"`);
  const logLevel = env.CUSTOS_LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`CUSTOS_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  }
  return {
    host: flags.host ?? env.CUSTOS_HOST ?? '127.0.0.1',
    port: intFrom(flags.port !== undefined ? '--port' : 'CUSTOS_PORT', flags.port ?? env.CUSTOS_PORT, 8080, 0, 65535),
    dataDir,
    store: resolveStoreLocation({ data: dataDir, ...(storeUrl ? { store: storeUrl } : {}) }),
    policyDir: resolve(flags.policies ?? env.CUSTOS_POLICIES ?? new URL('../policies', import.meta.url).pathname),
    policyCacheSize: intFrom('CUSTOS_POLICY_CACHE', env.CUSTOS_POLICY_CACHE, DEFAULT_DECISION_CACHE_SIZE, 0, 1_000_000),
    keyDir: resolve(flags.keys ?? env.CUSTOS_KEY_DIR ?? dataDir),
    ledger: {
      checkpointEvery: intFrom('CUSTOS_CHECKPOINT_EVERY', env.CUSTOS_CHECKPOINT_EVERY, 1000, 1, 10_000_000),
      checkpointIntervalMs: intFrom('CUSTOS_CHECKPOINT_INTERVAL_MS', env.CUSTOS_CHECKPOINT_INTERVAL_MS, 10_000, 10, 86_400_000),
      maxBatch: intFrom('CUSTOS_LEDGER_MAX_BATCH', env.CUSTOS_LEDGER_MAX_BATCH, 1000, 1, 10_000),
      batchIntervalMs: intFrom('CUSTOS_LEDGER_BATCH_INTERVAL_MS', env.CUSTOS_LEDGER_BATCH_INTERVAL_MS, 5, 0, 100),
      appendTimeoutMs: intFrom('CUSTOS_LEDGER_APPEND_TIMEOUT_MS', env.CUSTOS_LEDGER_APPEND_TIMEOUT_MS, 5000, 10, 600_000),
      ...(env.CUSTOS_LEDGER_ORIGIN ? { origin: env.CUSTOS_LEDGER_ORIGIN } : {}),
    },
    auth: {
      ...(jwksUrl ? { jwksUrl } : {}),
      issuer: env.CUSTOS_TOKEN_ISSUER ?? 'custos',
      audience: env.CUSTOS_TOKEN_AUDIENCE ?? 'custos-api',
      tokenTtlSeconds: intFrom('CUSTOS_TOKEN_TTL', env.CUSTOS_TOKEN_TTL, 3600, 30, 86_400),
    },
    ingest: {
      maxBytes: intFrom('CUSTOS_INGEST_MAX_BYTES', env.CUSTOS_INGEST_MAX_BYTES, 64 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
    },
    containment: {
      ...(webhookUrl ? { webhookUrl } : {}),
      webhookAttempts: intFrom('CUSTOS_CONTAINMENT_WEBHOOK_ATTEMPTS', env.CUSTOS_CONTAINMENT_WEBHOOK_ATTEMPTS, 5, 1, 20),
      webhookBackoffMs: intFrom('CUSTOS_CONTAINMENT_WEBHOOK_BACKOFF_MS', env.CUSTOS_CONTAINMENT_WEBHOOK_BACKOFF_MS, 500, 1, 600_000),
    },
    detect: boolFrom('CUSTOS_DETECT', env.CUSTOS_DETECT, true),
    ...(env.CUSTOS_PLACES ? { placesFile: resolve(env.CUSTOS_PLACES) } : {}),
    demo: flags.demo ?? boolFrom('CUSTOS_DEMO', env.CUSTOS_DEMO, true),
    entitiesFile: resolve(env.CUSTOS_ENTITIES ?? new URL('../config/entities.json', import.meta.url).pathname),
    rulesDir: resolve(env.CUSTOS_RULES ?? new URL('../rules', import.meta.url).pathname),
    noticeDomain: noticeDomainFrom('CUSTOS_NOTICE_DOMAIN', env.CUSTOS_NOTICE_DOMAIN ?? DEFAULT_NOTICE_DOMAIN),
    logLevel,
  };
}
