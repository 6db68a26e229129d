/**
 * Which key ring the store belongs to, and the rotation fence.
 *
 * - `ring_id`: recorded on first use, so a store opened with another deployment's key files is
 *   refused instead of sealing new customers under a ring the old ones cannot share.
 * - `current_kek`: the KEK every data key written from now on must be wrapped under. A rotation
 *   moves it to the new KEK *before* it re-wraps, and every customer write checks it in its own
 *   transaction (fenceKek), so no writer still holding the old ring can slip a key under a KEK
 *   that is about to be destroyed.
 */
import type { Kysely, Transaction } from 'kysely';
import { ConflictError } from '../errors.ts';
import type { Database, KeyRingIdentityTable } from './schema.ts';

export interface KeyRingIdentity {
  ringId: string;
  currentKekId: string;
  boundAt: string;
  updatedAt: string;
}

/** The `details.reason` of the ConflictError a write under a stale KEK gets. */
export const KEK_FENCE = 'kek_fence';

/** The store refused a customer write whose data keys are not under its current KEK. */
export function isKekFenceRefusal(err: unknown): err is ConflictError {
  return err instanceof ConflictError && err.details.reason === KEK_FENCE;
}

export class KeyRingIdentityRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(): Promise<KeyRingIdentity | undefined> {
    const row = await this.db.selectFrom('key_ring_identity').selectAll().where('singleton', '=', 1).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  /** Record the ring on first use; returns the identity in force (another process's, if it claimed first). */
  async claim(ringId: string, currentKekId: string, now: Date): Promise<KeyRingIdentity> {
    const at = now.toISOString();
    await this.db
      .insertInto('key_ring_identity')
      .values({ singleton: 1, ring_id: ringId, current_kek: currentKekId, bound_at: at, updated_at: at })
      .onConflict((oc) => oc.column('singleton').doNothing())
      .execute();
    return (await this.get())!;
  }

  /**
   * Move the fence from `fromKekId` to `toKekId` for ring `ringId`. Returns the identity after;
   * it stands elsewhere when another process moved it first (the caller decides if that is fine).
   * Waits for customer writes in flight (they hold the row), so any write that commits after
   * this is fenced, and any that committed before is seen by the re-wrap pass that follows.
   */
  async advanceKek(ringId: string, fromKekId: string, toKekId: string, now: Date): Promise<KeyRingIdentity | undefined> {
    await this.db
      .updateTable('key_ring_identity')
      .set({ current_kek: toKekId, updated_at: now.toISOString() })
      .where('singleton', '=', 1)
      .where('ring_id', '=', ringId)
      .where('current_kek', '=', fromKekId)
      .execute();
    return this.get();
  }
}

/**
 * Inside a customer write's transaction, before its rows: refuse (ConflictError, reason
 * kek_fence) unless every data key is under the store's current KEK. The no-op update takes the
 * row's write lock (PostgreSQL) or the database's (SQLite) until commit, so a rotation cannot
 * move the fence between this check and the commit. A store not yet bound to a ring has no fence.
 */
export async function fenceKek(tx: Transaction<Database>, kekIds: ReadonlySet<string>): Promise<void> {
  const row = await tx
    .updateTable('key_ring_identity')
    .set((eb) => ({ current_kek: eb.ref('current_kek') }))
    .where('singleton', '=', 1)
    .returning('current_kek')
    .executeTakeFirst();
  if (!row) return;
  const stale = [...kekIds].filter((id) => id !== row.current_kek);
  if (stale.length === 0) return;
  throw new ConflictError(
    `data keys wrapped under KEK ${stale.join(', ')}, but the store's current KEK is ${row.current_kek} (a key rotation moved it); reload the key ring and seal again`,
    { reason: KEK_FENCE, currentKekId: row.current_kek, staleKekIds: stale },
  );
}

function fromRow(r: KeyRingIdentityTable): KeyRingIdentity {
  return { ringId: r.ring_id, currentKekId: r.current_kek, boundAt: r.bound_at, updatedAt: r.updated_at };
}
