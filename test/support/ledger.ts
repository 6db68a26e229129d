/**
 * A signed ledger of 100 reveals for tests of verification: checkpoints every 25 entries, the
 * one at 75 kept as a trusted note.
 */
import { randomUUID } from 'node:crypto';
import { Store, type StoreLocation } from '../../src/store/store.ts';
import { LedgerAppender, LedgerCheckpointer, loadOrCreateSigningKeys, type LedgerSigningKeys } from '../../src/ledger/index.ts';
import { eventEntryBytes } from '../../src/broker/ledger-recorder.ts';

export const ENTRIES = 100;

export async function buildLedger(loc: StoreLocation, keyDir: string): Promise<{ keys: LedgerSigningKeys; trusted: string }> {
  const keys = await loadOrCreateSigningKeys(keyDir, { now: () => new Date() });
  const store = await Store.open(loc);
  try {
    // The writer thread starts outside the first append's deadline, as `custos serve` has it.
    await store.warmUp();
    const appender = await LedgerAppender.open(store.ledger);
    const checkpointer = await LedgerCheckpointer.open(store.ledger, keys.signer(), { every: 25, intervalMs: 3_600_000, now: () => new Date() });
    let trusted = '';
    for (let i = 0; i < ENTRIES; i++) {
      await appender.append(eventEntryBytes({ id: randomUUID(), time: new Date().toISOString(), actor: `emp-${i % 7}`, action: 'reveal', customers: [`cus-${i}`], fields: ['email'], decision: 'allow', purpose: { kind: 'case', ref: `case-${i}` }, channel: 'api' }));
      const cp = await checkpointer.noteAppended(appender.size);
      if (cp?.size === 75) trusted = cp.note;
    }
    await checkpointer.close();
    await appender.close();
    return { keys, trusted };
  } finally {
    await store.close();
  }
}
