import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { rowById, type RowById } from './row-by-id.ts';
import type { CustomerProfile } from '../model.ts';
import type { Database, CustomersTable } from './schema.ts';
import { fenceKek } from './key-ring-identity.ts';

/** A customer as the vault hands it to the store: clear profile, wrapped key, sealed and masked fields. */
export interface SealedCustomer extends CustomerProfile {
  wrappedKey: Uint8Array;
  /** The KEK `wrappedKey` is under; upsertMany refuses any but the store's current one (key-ring-identity.ts). */
  kekId: string;
  /** field → sealed bytes (vault format) */
  sealed: Record<string, Uint8Array>;
  /** field → masked form */
  masked: Record<string, string>;
  emailIndex: string | null;
  phoneIndex: string | null;
}

export interface StoredCustomer extends Omit<SealedCustomer, 'kekId'> {
  createdAt: string;
  updatedAt: string;
}

// Keep each multi-row INSERT well under SQLite's 32,766 bound parameters.
const UPSERT_CHUNK = 500;

export class CustomerRepository {
  private readonly byId: RowById<'customers'>;

  constructor(
    private readonly db: Kysely<Database>,
    sqlite: BetterSqlite3.Database | undefined,
    /** Run after a delete commits: removes what the dialect leaves of the row (sqlite-store.ts, postgres-store.ts). */
    private readonly erasePrevious: () => Promise<void>,
  ) {
    this.byId = rowById(db, sqlite, 'customers');
  }

  /**
   * Insert or replace by id, in one transaction. Re-import replaces the sealed record and its key.
   * ConflictError (reason kek_fence) when a data key is not under the store's current KEK.
   */
  async upsertMany(customers: SealedCustomer[], now: Date): Promise<void> {
    if (customers.length === 0) return;
    const at = now.toISOString();
    await this.db.transaction().execute(async (tx) => {
      await fenceKek(tx, new Set(customers.map((c) => c.kekId)));
      for (let i = 0; i < customers.length; i += UPSERT_CHUNK) {
        const rows = customers.slice(i, i + UPSERT_CHUNK).map((c) => toRow(c, at));
        await tx
          .insertInto('customers')
          .values(rows)
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              country: eb.ref('excluded.country'),
              region: eb.ref('excluded.region'),
              locale: eb.ref('excluded.locale'),
              canary: eb.ref('excluded.canary'),
              vip: eb.ref('excluded.vip'),
              entity: eb.ref('excluded.entity'),
              fields: eb.ref('excluded.fields'),
              wrapped_key: eb.ref('excluded.wrapped_key'),
              sealed: eb.ref('excluded.sealed'),
              masked: eb.ref('excluded.masked'),
              email_index: eb.ref('excluded.email_index'),
              phone_index: eb.ref('excluded.phone_index'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
    });
  }

  async get(id: string): Promise<StoredCustomer | undefined> {
    const row = await this.byId.get(id);
    return row ? fromRow(row) : undefined;
  }

  async exists(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('customers').select('id').where('id', '=', id).executeTakeFirst();
    return row !== undefined;
  }

  async findByEmailIndex(index: string, limit = 50): Promise<StoredCustomer[]> {
    const rows = await this.db.selectFrom('customers').selectAll().where('email_index', '=', index).orderBy('id').limit(limit).execute();
    return rows.map(fromRow);
  }

  async findByPhoneIndex(index: string, limit = 50): Promise<StoredCustomer[]> {
    const rows = await this.db.selectFrom('customers').selectAll().where('phone_index', '=', index).orderBy('id').limit(limit).execute();
    return rows.map(fromRow);
  }

  /** The clear profile's place (country, region) of each id that exists; chunked under parameter limits. */
  async placesOf(ids: readonly string[]): Promise<Map<string, CustomerPlace>> {
    const found = new Map<string, CustomerPlace>();
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const rows = await this.db.selectFrom('customers').select(['id', 'country', 'region', 'entity']).where('id', 'in', ids.slice(i, i + LOOKUP_CHUNK)).execute();
      for (const r of rows) found.set(r.id, { country: r.country, region: r.region, ...(r.entity ? { entity: r.entity } : {}) });
    }
    return found;
  }

  /** The names of the PII fields each id that exists holds (never their values); chunked like placesOf. */
  async fieldsOf(ids: readonly string[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const rows = await this.db.selectFrom('customers').select(['id', 'fields']).where('id', 'in', ids.slice(i, i + LOOKUP_CHUNK)).execute();
      for (const r of rows) found.set(r.id, JSON.parse(r.fields) as string[]);
    }
    return found;
  }

  /**
   * Customers whose e-mail or phone blind index is one of `indexes`, without reading a sealed
   * field: which index matched, the id and the canary flag (attribution of a leaked list).
   */
  async matchBlindIndexes(kind: 'email' | 'phone', indexes: readonly string[]): Promise<Array<{ index: string; id: string; canary: boolean }>> {
    const column = kind === 'email' ? 'email_index' : 'phone_index';
    const out: Array<{ index: string; id: string; canary: boolean }> = [];
    for (let i = 0; i < indexes.length; i += LOOKUP_CHUNK) {
      const rows = await this.db.selectFrom('customers').select(['id', 'canary', column]).where(column, 'in', indexes.slice(i, i + LOOKUP_CHUNK)).execute();
      for (const r of rows) out.push({ index: (r as Record<string, unknown>)[column] as string, id: r.id, canary: Number(r.canary) === 1 });
    }
    return out;
  }

  /**
   * Crypto-shredding: the wrapped key goes with the row, so no copy of the sealed fields opens
   * again. On SQLite no byte of the row is left in any file when this returns (secure_delete,
   * then the WAL truncated); on PostgreSQL the dead tuple is vacuumed when the role may.
   */
  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('customers').where('id', '=', id).executeTakeFirst();
    const deleted = Number(res.numDeletedRows) > 0;
    if (deleted) await this.erasePrevious();
    return deleted;
  }

  /**
   * Customers whose PII still holds a sealed `entity` (imported before it was a clear attribute),
   * in id order, a page at a time: for the broker to move it to the clear column.
   */
  async withSealedEntityAfter(afterId: string, limit: number): Promise<StoredCustomer[]> {
    const rows = await this.db.selectFrom('customers').selectAll().where('id', '>', afterId).where('fields', 'like', '%"entity"%').orderBy('id').limit(limit).execute();
    // LIKE is a coarse filter (a field named "entity" inside another name's quotes cannot occur in a JSON array of names, but be exact).
    return rows.map(fromRow).filter((c) => c.fields.includes('entity'));
  }

  /**
   * Keep `entity` in clear and drop its sealed copy (fields, sealed, masked), if the row is as it
   * was at `updatedAt`: a concurrent re-import wins. True when the row changed.
   */
  async moveEntityToClear(id: string, entity: string, updatedAt: string, now: Date): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const r = await tx.selectFrom('customers').select(['fields', 'sealed', 'masked']).where('id', '=', id).where('updated_at', '=', updatedAt).executeTakeFirst();
      if (!r) return false;
      const without = (json: string) => {
        const o = JSON.parse(json) as Record<string, unknown>;
        delete o.entity;
        return JSON.stringify(o);
      };
      const res = await tx.updateTable('customers')
        .set({ entity, fields: JSON.stringify((JSON.parse(r.fields) as string[]).filter((f) => f !== 'entity')), sealed: without(r.sealed), masked: without(r.masked), updated_at: now.toISOString() })
        .where('id', '=', id)
        .where('updated_at', '=', updatedAt)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    });
  }

  /** Which of these ids exist (reference checks on import). */
  existingIds(ids: string[]): Promise<Set<string>> {
    return this.byId.existingIds(ids);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Clear flags in id order, a page at a time (for detection's directory): never a sealed or masked field. */
  async flagsAfter(afterId: string, limit: number): Promise<Array<{ id: string; country: string; region?: string; canary: boolean; vip: boolean }>> {
    const rows = await this.db.selectFrom('customers').select(['id', 'country', 'region', 'canary', 'vip']).where('id', '>', afterId).orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, country: r.country, ...(r.region ? { region: r.region } : {}), canary: Boolean(r.canary), vip: Boolean(r.vip) }));
  }

  /** Wrapped keys in id order, a page at a time (for key rotation). */
  async wrappedKeysAfter(afterId: string, limit: number): Promise<Array<{ id: string; wrappedKey: Uint8Array }>> {
    const rows = await this.db
      .selectFrom('customers')
      .select(['id', 'wrapped_key'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, wrappedKey: toBytes(r.wrapped_key) }));
  }

  /** Replace wrapped keys only where they still equal what was read (a concurrent re-import wins). */
  async replaceWrappedKeys(updates: Array<{ id: string; from: Uint8Array; to: Uint8Array }>): Promise<number> {
    let changed = 0;
    await this.db.transaction().execute(async (tx) => {
      for (const u of updates) {
        const res = await tx
          .updateTable('customers')
          .set({ wrapped_key: u.to })
          .where('id', '=', u.id)
          .where('wrapped_key', '=', u.from)
          .executeTakeFirst();
        changed += Number(res.numUpdatedRows);
      }
    });
    return changed;
  }
}

/** Where a customer lives, and which legal entity holds the account when the record says, as its clear profile says. */
export interface CustomerPlace {
  country: string;
  region: string | null;
  entity?: string;
}

// Well under SQLite's and PostgreSQL's bound-parameter limits.
const LOOKUP_CHUNK = 500;

function toRow(c: SealedCustomer, at: string): CustomersTable {
  const sealed: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.sealed)) sealed[k] = Buffer.from(v).toString('base64');
  return {
    id: c.id,
    country: c.country,
    region: c.region,
    locale: c.locale,
    canary: c.canary ? 1 : 0,
    vip: c.vip ? 1 : 0,
    entity: c.entity ?? null,
    fields: JSON.stringify(c.fields),
    wrapped_key: c.wrappedKey,
    sealed: JSON.stringify(sealed),
    masked: JSON.stringify(c.masked),
    email_index: c.emailIndex,
    phone_index: c.phoneIndex,
    created_at: at,
    updated_at: at,
  };
}

function toBytes(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v);
}

function fromRow(r: CustomersTable): StoredCustomer {
  const sealedText = JSON.parse(r.sealed) as Record<string, string>;
  const sealed: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(sealedText)) sealed[k] = Buffer.from(v, 'base64');
  return {
    id: r.id,
    country: r.country,
    region: r.region,
    locale: r.locale,
    canary: r.canary === 1,
    vip: r.vip === 1,
    entity: r.entity ?? null,
    fields: JSON.parse(r.fields) as string[],
    wrappedKey: toBytes(r.wrapped_key),
    sealed,
    masked: JSON.parse(r.masked) as Record<string, string>,
    emailIndex: r.email_index,
    phoneIndex: r.phone_index,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
