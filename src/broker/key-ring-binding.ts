/**
 * A store and its key ring, opened together. The store records the ring it belongs to on first
 * use (store/key-ring-identity.ts); from then on every command that opens both refuses another
 * ring, and a missing key file is an error rather than a fresh ring that could not open a thing.
 * A new ring is made only for a store with no customers and no ring yet: on first `serve` or
 * `import`, or by `custos keys init`.
 */
import { ConfigError, ConflictError } from '../errors.ts';
import type { KeyRingIdentity } from '../store/key-ring-identity.ts';
import type { Store } from '../store/store.ts';
import { createVault, keyRingPath, openVault, wrappedKekId, type Vault, type VaultOptions } from '../vault/index.ts';

export interface KeyRingOptions extends VaultOptions {
  keyDir: string;
  /** The vault already read from keyDir / CUSTOS_KEYRING (openVault), if any. */
  found: Vault | undefined;
  now: () => Date;
}

/** The store's vault: the one found, or a new ring when the store is empty (first start). */
export async function vaultForStore(store: Store, opts: KeyRingOptions & { createIfEmpty: boolean }): Promise<Vault> {
  let vault = opts.found;
  if (!vault) {
    await refuseNewRing(store, opts.keyDir);
    if (!opts.createIfEmpty) throw new ConfigError(`${keyRingPath(opts.keyDir)}: no key file; \`custos keys init\` creates one for an empty store`, { source: keyRingPath(opts.keyDir) });
    vault = createOrOpen(opts);
  }
  await bindKeyRing(store, vault, opts.now);
  return vault;
}

/** `custos keys init`: a new key ring for an empty store, bound to it. */
export async function initKeyRing(store: Store, opts: Omit<KeyRingOptions, 'found'> & { env?: Record<string, string | undefined> }): Promise<Vault> {
  const existing = openVault({ dir: opts.keyDir, ...(opts.env ? { env: opts.env } : {}) });
  if (existing) throw new ConflictError(`${existing.source} already holds key ring ${existing.ringId}; nothing to create`, { source: existing.source });
  await refuseNewRing(store, opts.keyDir);
  const vault = createVault(opts.keyDir, opts.now(), opts);
  await bindKeyRing(store, vault, opts.now);
  return vault;
}

/**
 * Check that `vault` is the store's ring (recording it if the store has none yet) and that the
 * store's rotation fence stands at the ring's current KEK. Returns the store's identity.
 */
export async function bindKeyRing(store: Store, vault: Vault, now: () => Date): Promise<KeyRingIdentity> {
  let identity = await store.keyRingIdentity.get();
  if (!identity) {
    // A store from before ring ids: its data keys name their KEK, which must be this ring's.
    const kekId = await storedKekId(store);
    if (kekId !== undefined && !vault.knowsKek(kekId)) {
      throw new ConfigError(`${store.describe()} holds customers whose data keys are under KEK ${kekId}, which key ring ${vault.ringId} (${vault.source}) does not hold: these are another store's key files`, {
        source: vault.source,
      });
    }
    identity = await store.keyRingIdentity.claim(vault.ringId, vault.currentKekId, now());
  }
  if (identity.ringId !== vault.ringId) {
    throw new ConfigError(`the store ${store.describe()} belongs to key ring ${identity.ringId}; ${vault.source} (--data/CUSTOS_KEY_DIR/CUSTOS_KEYRING) has ring ${vault.ringId}`, {
      source: vault.source,
      expectedRingId: identity.ringId,
      ringId: vault.ringId,
    });
  }
  for (let attempt = 0; attempt < 3 && identity.currentKekId !== vault.currentKekId; attempt++) {
    if (!vault.knowsKek(identity.currentKekId)) vault.reload();
    if (identity.currentKekId === vault.currentKekId) break;
    if (!vault.knowsKek(identity.currentKekId)) {
      throw new ConfigError(
        `the store's current KEK ${identity.currentKekId} is not in key ring ${vault.ringId} at ${vault.source}: that key file is older than a rotation; use the key file the rotation wrote`,
        { source: vault.source, currentKekId: identity.currentKekId },
      );
    }
    // The ring is ahead of the store: a rotation stopped between its two steps, or a new KEK
    // was put into CUSTOS_KEYRING. Move the fence on; re-wrapping stays `keys rotate`'s.
    identity = (await store.keyRingIdentity.advanceKek(vault.ringId, identity.currentKekId, vault.currentKekId, now())) ?? identity;
  }
  return identity;
}

async function refuseNewRing(store: Store, keyDir: string): Promise<void> {
  const path = keyRingPath(keyDir);
  const identity = await store.keyRingIdentity.get();
  if (identity) {
    throw new ConfigError(
      `${path}: no key file, but the store ${store.describe()} belongs to key ring ${identity.ringId}; restore that ring's key file there, or point --data/CUSTOS_KEY_DIR at it (or set CUSTOS_KEYRING)`,
      { source: path, expectedRingId: identity.ringId },
    );
  }
  const kekId = await storedKekId(store);
  if (kekId !== undefined) {
    throw new ConfigError(
      `${path}: no key file, but the store ${store.describe()} holds customers whose data keys are under KEK ${kekId}; restore the key file that holds it (a new key ring could not open them)`,
      { source: path, kekId },
    );
  }
}

async function storedKekId(store: Store): Promise<string | undefined> {
  const [first] = await store.customers.wrappedKeysAfter('', 1);
  return first ? wrappedKekId(first.wrappedKey) : undefined;
}

function createOrOpen(opts: KeyRingOptions): Vault {
  try {
    return createVault(opts.keyDir, opts.now(), opts);
  } catch (err) {
    // Another process created it between our look and our link: use theirs.
    if (!(err instanceof ConflictError)) throw err;
  }
  return openVault({ dir: opts.keyDir, ...(opts.nowMs ? { nowMs: opts.nowMs } : {}) })!;
}
