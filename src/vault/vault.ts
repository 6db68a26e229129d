/**
 * The vault: what the rest of Custos holds instead of a key ring. It seals customers, computes
 * blind indexes, rotates KEKs and re-wraps data keys, and reports which keys exist (ids and
 * dates) — it never hands out a key. Key material stays in `#` fields here and in keyring.ts,
 * which nothing outside src/vault/ imports (boundary.test.ts).
 *
 * Opening fields is a separate capability, `openerFor(vault)`, exported only through
 * decrypt.ts, which only src/broker/ may import: holding a Vault lets a module seal, not read.
 */
import { inspect } from 'node:util';
import { ConfigError, IntegrityError } from '../errors.ts';
import type { CustomerInput } from '../model.ts';
import { blindIndexEmail, blindIndexPhone, searchProbeHash, type SearchKind } from './blind-index.ts';
import { DataKeyCache, rewrapDataKey } from './envelope.ts';
import { openField } from './field-cipher.ts';
import { createKeyRingFile, findKeyRing, keyRingPath, rotateKeyRingFile, type KeyRing, type KeyRingSource } from './keyring.ts';
import { LiveKeyRing } from './live-keyring.ts';
import { customerSealer, type SealedCustomerRecord } from './seal-customer.ts';

type Env = Record<string, string | undefined>;

/** What can be said about a key ring without showing a key. */
export interface KeyRingStatus {
  ringId: string;
  currentKekId: string;
  keks: Array<{ id: string; createdAt: string; retiredAt?: string }>;
  source: KeyRingSource;
}

export interface VaultOptions {
  /** The clock that paces re-reading the key file (tests hold it still to keep a ring stale). */
  nowMs?: () => number;
}

/** The broker's way in to the live ring; assigned in Vault's static block, never exported. */
let liveRingOf: (vault: Vault) => LiveKeyRing;

export class Vault {
  readonly #live: LiveKeyRing;

  static {
    liveRingOf = (vault) => vault.#live;
  }

  private constructor(ring: KeyRing, opts: VaultOptions) {
    this.#live = new LiveKeyRing(ring, opts.nowMs);
  }

  /** A vault over a loaded ring (openVault and createVault are the usual ways in). */
  static of(ring: KeyRing, opts: VaultOptions = {}): Vault {
    return new Vault(ring, opts);
  }

  get ringId(): string {
    return this.#live.current.ringId;
  }

  get currentKekId(): string {
    return this.#live.current.currentKekId;
  }

  /** Where the ring comes from: "<dir>/custos-keys.json" or "CUSTOS_KEYRING". */
  get source(): string {
    const source = this.#live.current.source;
    return source.kind === 'file' ? source.path : source.variable;
  }

  status(): KeyRingStatus {
    const ring = this.#live.current;
    const keks = ring.kekIds.map((id) => {
      const k = ring.kek(id)!;
      return { id, createdAt: k.createdAt, ...(k.retiredAt ? { retiredAt: k.retiredAt } : {}) };
    });
    return { ringId: ring.ringId, currentKekId: ring.currentKekId, keks, source: ring.source };
  }

  /** Whether the ring knows this KEK id, live or retired (a data key under it is this ring's). */
  knowsKek(kekId: string): boolean {
    return this.#live.current.kek(kekId) !== undefined;
  }

  /** Re-read the key file now if it changed (after the store reported a newer KEK). */
  reload(): boolean {
    return this.#live.refreshIfChanged();
  }

  /** A parsed customer sealed for the store: fresh data key wrapped under the current KEK, sealed and masked fields, blind indexes. */
  sealCustomer(input: CustomerInput): SealedCustomerRecord {
    return customerSealer(this.#live.current)(input);
  }

  blindIndexEmail(email: string): string {
    return blindIndexEmail(this.#live.current, email);
  }

  blindIndexPhone(phone: string, country?: string): string {
    return blindIndexPhone(this.#live.current, phone, country);
  }

  /** A search's recorded hash: keyed, and never equal to a stored blind index (blind-index.ts). */
  searchProbeHash(kind: SearchKind, value: string, country?: string): string {
    return searchProbeHash(this.#live.current, kind, value, country);
  }

  /**
   * `custos keys rotate`'s key-file half, under the key file's lock: a new current KEK, then
   * `relocate` (which moves the store's fence and every data key onto it, via `rewrap`, and
   * returns the KEK ids still in use), then the old KEKs' material destroyed.
   */
  async rotate(now: () => Date, relocate: (rotation: { newKekId: string; retiring: string[] }) => Promise<ReadonlySet<string>>): Promise<{ newKekId: string; retired: string[] }> {
    const source = this.#live.current.source;
    if (source.kind !== 'file') {
      throw new ConfigError(`the key ring comes from ${source.variable}: rotate by putting a new KEK into that value (see README "Keys"), not with this command`);
    }
    const { ring, retired } = await rotateKeyRingFile(source.path, now, async (rotation) => {
      this.#live.adopt(rotation.ring);
      return relocate({ newKekId: rotation.ring.currentKekId, retiring: rotation.retiring });
    });
    this.#live.adopt(ring);
    return { newKekId: ring.currentKekId, retired };
  }

  /** The wrapped key under the current KEK; `wrapped` itself when it already is. */
  rewrap<T extends Uint8Array>(customerId: string, wrapped: T): T | Buffer {
    return rewrapDataKey(this.#live.current, customerId, wrapped);
  }

  toJSON(): KeyRingStatus {
    return this.status();
  }

  [inspect.custom](): string {
    return `Vault ${JSON.stringify(this.status())}`;
  }
}

/**
 * The vault for a key directory: CUSTOS_KEYRING when set, else `<dir>/custos-keys.json`;
 * undefined when there is neither (creating one is createVault's, and only for an empty store).
 */
export function openVault(opts: { dir: string; env?: Env } & VaultOptions): Vault | undefined {
  const ring = findKeyRing(opts);
  return ring ? Vault.of(ring, opts) : undefined;
}

/** A new key ring in `<dir>/custos-keys.json` (0600; directory 0700). ConflictError if one exists. */
export function createVault(dir: string, now: Date, opts: VaultOptions = {}): Vault {
  return Vault.of(createKeyRingFile(keyRingPath(dir), now), opts);
}

/** An open customer's fields, as the store keeps them. */
export interface SealedFields {
  id: string;
  wrappedKey: Uint8Array;
  sealed: Record<string, Uint8Array>;
}

/**
 * The one way to clear values: the broker's, after it has recorded the decision. Keeps a
 * bounded cache of unwrapped data keys (one unwrap per customer, not per reveal).
 */
export class FieldOpener {
  readonly #live: LiveKeyRing;
  readonly #dataKeys: DataKeyCache;

  constructor(vault: Vault, opts: { dataKeyCacheSize?: number } = {}) {
    this.#live = liveRingOf(vault);
    this.#dataKeys = new DataKeyCache(opts.dataKeyCacheSize !== undefined ? { maxEntries: opts.dataKeyCacheSize } : {});
  }

  /** Clear values of `fields` (each must be sealed on the customer). IntegrityError if any fails to open. */
  open(customer: SealedFields, fields: readonly string[]): Record<string, string> {
    let dataKey: Buffer;
    try {
      dataKey = this.#dataKeys.get(this.#live.current, customer.id, customer.wrappedKey);
    } catch (err) {
      // Wrapped under a KEK this process has not loaded yet (a rotation elsewhere): reload once.
      if (!(err instanceof IntegrityError && err.details.reason === 'kek_unknown' && this.#live.refreshIfChanged())) throw err;
      dataKey = this.#dataKeys.get(this.#live.current, customer.id, customer.wrappedKey);
    }
    const out: Record<string, string> = {};
    for (const f of fields) out[f] = openField(dataKey, customer.id, f, customer.sealed[f]!);
    return out;
  }

  /** Drop (and zero) a customer's cached data key: a shredded key must not linger here. */
  forget(customerId: string): void {
    this.#dataKeys.forget(customerId);
  }
}

/** The broker's field opener for this vault (decrypt.ts). */
export function openerFor(vault: Vault, opts: { dataKeyCacheSize?: number } = {}): FieldOpener {
  return new FieldOpener(vault, opts);
}
