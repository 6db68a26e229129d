import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildLedger, ENTRIES } from '../../test/support/ledger.ts';
import { sqliteTarget, toOldLedgerLayout } from '../../test/support/stores.ts';
import { LedgerAppender, verifyLedger } from '../ledger/index.ts';
import type { StoredCheckpoint, StoredEntry } from '../ledger/index.ts';
import { ledgerFileFor, Store } from './store.ts';
import { canonicalEventBytes } from './test-events.ts';
import { untilLoadedDeadline } from '../../test/support/wait.ts';

const LEDGER_TABLES = ['ledger_checkpoints', 'ledger_entries', 'ledger_nodes'];

/** The ledger tables a SQLite file holds, by name. */
function tablesIn(file: string): string[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ledger%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

async function contents(store: Store): Promise<{ entries: StoredEntry[]; checkpoints: StoredCheckpoint[]; nodes: Uint8Array[] }> {
  const entries: StoredEntry[] = [];
  for await (const e of store.ledger.readEntries(0, await store.ledger.size())) entries.push({ index: e.index, entry: Buffer.from(e.entry) });
  const checkpoints: StoredCheckpoint[] = [];
  for await (const c of store.ledger.listCheckpoints()) checkpoints.push(c);
  const nodes = (await store.ledger.getNodes(entries.map((e) => ({ level: 0, index: e.index })))).map((h) => Buffer.from(h));
  return { entries, checkpoints, nodes };
}

describe('the SQLite ledger in a file of its own', () => {
  const target = sqliteTarget();
  afterAll(() => target.cleanup());
  const fileOf = () => (target.location() as { file: string }).file;
  /** A signed ledger of ENTRIES entries put back in the old layout, and what it held. */
  async function oldLayoutStore() {
    const file = fileOf();
    const { keys } = await buildLedger({ dialect: 'sqlite', file }, mkdtempSync(join(tmpdir(), 'custos-ledger-file-')));
    const store = await Store.open({ dialect: 'sqlite', file });
    const before = await contents(store);
    await store.close();
    toOldLedgerLayout(file);
    return { file, keys, before };
  }
  const event = (i: number) => canonicalEventBytes({ id: `ev${i}`, time: '2026-11-01T10:00:00.000Z', actor: 'emp1', action: 'reveal', customers: ['c1'], fields: ['email'], decision: 'allow' });

  it('keeps a new store\'s ledger in custos-ledger.db and none of it in custos.db', async () => {
    const file = fileOf();
    const store = await Store.open({ dialect: 'sqlite', file });
    try {
      const appender = await LedgerAppender.open(store.ledger);
      await appender.appendMany([event(0), event(1)]);
      await appender.close();
      await store.ledger.saveCheckpoint({ size: 2, note: 'two', signedAt: '2026-11-01T10:00:00.000Z' });
    } finally {
      await store.close();
    }
    expect(tablesIn(file)).toEqual([]);
    expect(tablesIn(ledgerFileFor(file))).toEqual(LEDGER_TABLES);
    const again = await Store.open({ dialect: 'sqlite', file });
    try {
      expect(await again.ledger.size()).toBe(2);
      expect((await again.ledger.latestCheckpoint())?.note).toBe('two');
    } finally {
      await again.close();
    }
  });

  it('moves the ledger of a store in the old layout (tables in custos.db) into its file, entry for entry, and goes on appending', async () => {
    const { file, keys, before } = await oldLayoutStore();
    expect(tablesIn(file)).toEqual(LEDGER_TABLES);

    const store = await Store.open({ dialect: 'sqlite', file });
    try {
      expect(tablesIn(file)).toEqual([]);
      expect(tablesIn(ledgerFileFor(file))).toEqual(LEDGER_TABLES);
      expect(await contents(store)).toEqual(before);
      expect(before.entries).toHaveLength(ENTRIES);
      expect(before.checkpoints.map((c) => c.size)).toEqual([25, 50, 75, 100]);
      expect((await verifyLedger(store.ledger, keys.verifierKeys())).ok).toBe(true);
      const appender = await LedgerAppender.open(store.ledger);
      expect(await appender.append(event(ENTRIES))).toEqual({ index: ENTRIES });
      await appender.close();
      expect((await store.accessEvents.byActor('emp1', { limit: 1000 })).map((e) => e.seq)).toContain(ENTRIES);
      expect((await verifyLedger(store.ledger, keys.verifierKeys())).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('copies again from custos.db when an earlier move was cut short before dropping its tables', async () => {
    const { file, keys, before } = await oldLayoutStore();
    // What an interrupted copy leaves: a ledger file with some rows, custos.db still holding them all.
    const partial = new BetterSqlite3(ledgerFileFor(file));
    partial.exec('CREATE TABLE ledger_entries (idx integer PRIMARY KEY, entry blob NOT NULL)');
    partial.prepare('INSERT INTO ledger_entries (idx, entry) VALUES (?, ?)').run(0, Buffer.from('not the entry'));
    partial.prepare('INSERT INTO ledger_entries (idx, entry) VALUES (?, ?)').run(ENTRIES + 5, Buffer.from('past the end'));
    partial.close();

    const store = await Store.open({ dialect: 'sqlite', file });
    try {
      expect(tablesIn(file)).toEqual([]);
      expect(await store.ledger.size()).toBe(ENTRIES);
      expect(await contents(store)).toEqual(before);
      expect((await verifyLedger(store.ledger, keys.verifierKeys())).ok).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('copies the ledger\'s WAL into its file from the index worker, long before the writer\'s own checkpoint would', async () => {
    const file = fileOf();
    const store = await Store.open({ dialect: 'sqlite', file });
    try {
      await store.warmUp();
      const sizeOf = () => statSync(ledgerFileFor(file)).size;
      const before = sizeOf();
      // A few dozen WAL pages, far below the 1,000 at which the writer would checkpoint.
      const appender = await LedgerAppender.open(store.ledger);
      for (let i = 0; i < 20; i++) await appender.appendMany(Array.from({ length: 10 }, (_, j) => event(10 * i + j)));
      await appender.close();
      await vi.waitFor(() => expect(sizeOf()).toBeGreaterThan(before + 8 * 4096), untilLoadedDeadline);
    } finally {
      await store.close();
    }
  });
});
