/**
 * A data directory written before the ledger had a file of its own (its tables in custos.db):
 * the CLI moves it on first open, verifies it, and records into it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { custosCli } from '../support/cli.ts';
import { buildLedger, ENTRIES } from '../support/ledger.ts';
import { sqliteTarget, toOldLedgerLayout } from '../support/stores.ts';

describe('a SQLite data directory in the old ledger layout', () => {
  const target = sqliteTarget();
  afterAll(() => target.cleanup());

  it('verifies with `custos ledger verify`, records an export, and verifies again', async () => {
    const loc = target.location();
    if (loc.dialect !== 'sqlite') throw new Error('a SQLite location was expected');
    const keyDir = mkdtempSync(join(tmpdir(), 'custos-old-layout-'));
    await buildLedger(loc, keyDir);
    toOldLedgerLayout(loc.file);
    const flags = ['--data', keyDir, '--store', `sqlite:${loc.file}`];

    const verified = await custosCli(['ledger', 'verify', ...flags]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(new RegExp(`^ledger OK: ${ENTRIES} entries`));

    const exported = await custosCli(['ledger', 'export', ...flags]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout.trim().split('\n')).toHaveLength(ENTRIES);

    const again = await custosCli(['ledger', 'verify', ...flags]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^ledger OK: ${ENTRIES + 1} entries`));
  }, 120_000);
});
