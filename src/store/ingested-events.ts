/**
 * Which events each source has had ingested, by the event's own id, with the ledger index it was
 * recorded at: an ingest sent again (a retry after a failure midway) records only what is missing.
 * The same SQL on both dialects.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

// Keep each IN list and multi-row INSERT well under SQLite's bound parameters.
const CHUNK = 500;

export class IngestedEventRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The ids among `ids` already ingested from `source`. */
  async known(source: string, ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.db.selectFrom('ingested_events').select('id').where('source', '=', source).where('id', 'in', ids.slice(i, i + CHUNK)).execute();
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  /** Remember recorded events; an id already remembered keeps its first index. */
  async remember(source: string, recorded: ReadonlyArray<{ id: string; seq: number }>): Promise<void> {
    for (let i = 0; i < recorded.length; i += CHUNK) {
      await this.db.insertInto('ingested_events')
        .values(recorded.slice(i, i + CHUNK).map((r) => ({ source, id: r.id, seq: r.seq })))
        .onConflict((oc) => oc.columns(['source', 'id']).doNothing())
        .execute();
    }
  }
}
