/**
 * `custos keys rotate`: a new KEK becomes current, every data key is re-wrapped under it, and
 * only then is the old KEK's material destroyed — with the server running. Running servers
 * reload the key file within a second (LiveKeyRing), so the pass waits `settleMs` before it
 * starts, and sweeps again for keys a server wrapped under the old KEK in the meantime.
 */
import { ConfigError, IntegrityError } from '../errors.ts';
import type { Store } from '../store/store.ts';
import { retireKek, rewrapDataKey, rotateKek, wrappedKekId, type KeyRing } from '../vault/index.ts';

export interface RotationSummary {
  newKekId: string;
  rewrapped: number;
  retired: string[];
  customers: number;
}

const PAGE = 1000;
const MAX_SWEEPS = 5;

export async function rotateKeys(store: Store, ring: KeyRing, opts: { now: () => Date; settleMs: number; onProgress?: (done: number) => void }): Promise<RotationSummary> {
  if (ring.source.kind !== 'file') {
    throw new ConfigError('the key ring comes from CUSTOS_KEYRING: rotate by putting a new KEK into that value (see README "Keys"), not with this command');
  }
  const path = ring.source.path;
  const rotated = rotateKek(path, opts.now());
  await new Promise((r) => setTimeout(r, opts.settleMs));

  let rewrapped = 0;
  let customers = 0;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    const pass = await rewrapAll(store, rotated, opts.onProgress);
    rewrapped += pass.changed;
    customers = pass.seen;
    if (pass.changed === 0) break;
  }
  // Retire only what no stored key needs any more.
  const stillUsed = await kekIdsInUse(store);
  const retired: string[] = [];
  for (const id of rotated.kekIds) {
    if (id === rotated.currentKekId || rotated.kek(id)?.key === undefined) continue;
    if (stillUsed.has(id)) throw new IntegrityError(`data keys are still wrapped under ${id} after ${MAX_SWEEPS} passes; it was not retired — run the command again`);
    retireKek(path, id, opts.now());
    retired.push(id);
  }
  return { newKekId: rotated.currentKekId, rewrapped, retired, customers };
}

async function rewrapAll(store: Store, ring: KeyRing, onProgress?: (done: number) => void): Promise<{ changed: number; seen: number }> {
  let after = '';
  let changed = 0;
  let seen = 0;
  for (;;) {
    const page = await store.customers.wrappedKeysAfter(after, PAGE);
    if (page.length === 0) break;
    const updates = [];
    for (const row of page) {
      const next = rewrapDataKey(ring, row.id, row.wrappedKey);
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
