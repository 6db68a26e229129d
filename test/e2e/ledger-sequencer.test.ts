/**
 * Several writers on one ledger: any number of processes append without conflicts failing a
 * request, with a gap-free index; on PostgreSQL a writer that dies holding the sequencer lets
 * the others go on as soon as its connection is gone.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { storeTargets, TEST_PG_URL } from '../support/stores.ts';
import { Store } from '../../src/store/store.ts';
import { LedgerAppender, verifyLedger } from '../../src/ledger/index.ts';

const entry = (writer: number, n: number): Buffer => Buffer.from(`{"writer":${writer},"n":${n}}`);

for (const target of storeTargets()) {
  describe(`ledger writers taking turns on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('appends from three stores at once with no failure, every entry once, gap-free, verifying', async () => {
      const loc = target.location();
      const stores = [await Store.open(loc), await Store.open(loc), await Store.open(loc)];
      try {
        const appenders = await Promise.all(stores.map((s) => LedgerAppender.open(s.ledger, { maxBatch: 100, timeoutMs: 30_000 })));
        const PER_WRITER = 1500;
        const results = await Promise.all(
          appenders.flatMap((a, w) => Array.from({ length: PER_WRITER }, (_, n) => a.append(entry(w, n)).then((r) => ({ w, n, index: r.index })))),
        );
        const total = PER_WRITER * appenders.length;
        expect(await stores[0]!.ledger.size()).toBe(total);
        expect(new Set(results.map((r) => r.index))).toEqual(new Set(Array.from({ length: total }, (_, i) => i)));
        const stored = new Map<number, string>();
        for await (const e of stores[0]!.ledger.readEntries(0, total)) stored.set(e.index, Buffer.from(e.entry).toString());
        for (const r of results) expect(stored.get(r.index)).toBe(entry(r.w, r.n).toString());
        expect((await verifyLedger(stores[0]!.ledger, [])).ok).toBe(true);
        await Promise.all(appenders.map((a) => a.close()));
      } finally {
        for (const s of stores) await s.close();
      }
    }, 180_000);

    if (target.name === 'postgres') {
      it('goes on within a second when a writer is killed holding the sequencer', async () => {
        const loc = target.location();
        const store = await Store.open(loc);
        try {
          const appender = await LedgerAppender.open(store.ledger, { timeoutMs: 30_000 });
          await appender.append(entry(0, 0));
          // Another process takes the sequencer inside a transaction, as a batch does, and is
          // killed (SIGKILL) before it commits.
          const schema = loc.dialect === 'postgres' ? loc.schema : '';
          const holder = spawn(process.execPath, ['--input-type=module', '-e', `
            import pg from 'pg';
            const c = new pg.Client({ connectionString: ${JSON.stringify(TEST_PG_URL)}, options: '-c search_path=${schema}' });
            await c.connect();
            await c.query('BEGIN');
            await c.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':custos-ledger-sequencer'))");
            process.stdout.write('holding\\n');
            setInterval(() => {}, 1000);
          `], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
          await new Promise<void>((resolve, reject) => {
            holder.stdout.on('data', (d: Buffer) => d.toString().includes('holding') && resolve());
            holder.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
          });
          let landed = false;
          const blocked = appender.append(entry(0, 1)).then((r) => {
            landed = true;
            return r;
          });
          // The append waits for the sequencer while the holder lives: it has not landed once
          // the holder's lock is seen by PostgreSQL as taken and ours as waiting.
          const probe = await Store.open(loc);
          try {
            await expect.poll(async () => {
              const { rows } = await (await import('kysely')).sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`.execute(probe.db);
              return rows[0]!.n;
            }, { timeout: 20_000, interval: 50 }).toBeGreaterThan(0);
          } finally {
            await probe.close();
          }
          expect(landed).toBe(false);
          const killedAt = Date.now();
          holder.kill('SIGKILL');
          expect((await blocked).index).toBe(1);
          // Typically tens of milliseconds; the bound leaves room for a loaded machine and is far
          // below the 30 s the append itself would wait.
          expect(Date.now() - killedAt).toBeLessThan(5000);
          expect((await verifyLedger(store.ledger, [])).ok).toBe(true);
          await appender.close();
        } finally {
          await store.close();
        }
      }, 120_000);
    }
  });
}
