/**
 * `custos keys rotate`: a new KEK becomes current, every data key is re-wrapped under it, and
 * only then is the old KEK's material destroyed — with servers running.
 *
 * The store's fence (store/key-ring-identity.ts) moves to the new KEK before the re-wrap pass:
 * from then on the store refuses any customer write under an older KEK, so a process still
 * holding the old ring (it has not re-read the key file yet) cannot slip a data key in behind
 * the pass — it is refused, re-reads the file and seals again. One pass therefore finds every
 * key, and the old KEK is destroyed only once none is left under it.
 */
import { ConflictError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import { wrappedKekId, type Vault } from '../vault/index.ts';
import { bindKeyRing } from './key-ring-binding.ts';

export interface RotationSummary {
  newKekId: string;
  rewrapped: number;
  retired: string[];
  customers: number;
}

const PAGE = 1000;

export async function rotateKeys(
  store: Store,
  vault: Vault,
  opts: { now: () => Date; settleMs: number; onProgress?: (done: number) => void },
): Promise<RotationSummary> {
  const before = await bindKeyRing(store, vault, opts.now);
  let rewrapped = 0;
  let customers = 0;
  const { newKekId, retired } = await vault.rotate(opts.now, async ({ newKekId }) => {
    const fenced = await store.keyRingIdentity.advanceKek(vault.ringId, before.currentKekId, newKekId, opts.now());
    if (fenced?.currentKekId !== newKekId) {
      throw new ConflictError(`the store's current KEK moved to ${fenced?.currentKekId} while this rotation started; nothing was retired — run it again`);
    }
    // Optional: lets running servers pick up the new KEK before the pass (fewer refused writes).
    if (opts.settleMs > 0) await new Promise((r) => setTimeout(r, opts.settleMs));
    const pass = await rewrapAll(store, vault, opts.onProgress);
    rewrapped = pass.changed;
    customers = pass.seen;
    return kekIdsInUse(store);
  });
  return { newKekId, rewrapped, retired, customers };
}

async function rewrapAll(store: Store, vault: Vault, onProgress?: (done: number) => void): Promise<{ changed: number; seen: number }> {
  let after = '';
  let changed = 0;
  let seen = 0;
  for (;;) {
    const page = await store.customers.wrappedKeysAfter(after, PAGE);
    if (page.length === 0) break;
    const updates = [];
    for (const row of page) {
      const next = vault.rewrap(row.id, row.wrappedKey);
      if (next !== row.wrappedKey) updates.push({ id: row.id, from: row.wrappedKey, to: next });
    }
    // A row re-imported meanwhile keeps its new key (the update matches on the old bytes).
    changed += await store.customers.replaceWrappedKeys(updates);
    seen += page.length;
    onProgress?.(seen);
    after = page[page.length - 1]!.id;
  }
  return { changed, seen };
}

async function kekIdsInUse(store: Store): Promise<Set<string>> {
  const used = new Set<string>();
  let after = '';
  for (;;) {
    const page = await store.customers.wrappedKeysAfter(after, PAGE);
    if (page.length === 0) return used;
    for (const row of page) used.add(wrappedKekId(row.wrappedKey));
    after = page[page.length - 1]!.id;
  }
}
