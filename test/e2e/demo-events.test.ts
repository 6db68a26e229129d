/**
 * The demo's events, recorded by `custos serve` in the background: once, as ingested events of
 * source "demo"; a start after a run cut short records only what is missing.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { sqliteTarget } from '../support/stores.ts';
import { decodeAccessEvent } from '../../src/model.ts';
import { DEMO_SOURCE, recordDemoEvents } from '../../src/simulate/seed-demo.ts';

const event = (n: number) => ({
  id: `ev-${n}`, time: `2026-03-02T09:0${n}:00Z`, actor: 'emp-0007', action: 'view',
  customers: [`cus-00000${n}`], fields: [], decision: 'allow', channel: 'web',
});

describe('recording the demo events', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startInstance({ store: sqliteTarget().location(), customers: 20 });
  }, 240_000);
  afterAll(async () => t?.stop());

  it('records them once, and finishes a run cut short without sending any twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-demo-'));
    const host = { kind: 'host' as const, id: 'os:test@host' };
    expect(await recordDemoEvents(t.custos, host, dir)).toBeUndefined(); // no demo files: nothing to do

    writeFileSync(join(dir, 'events.jsonl'), [1, 2].map((n) => JSON.stringify(event(n))).join('\n') + '\n');
    const first = await recordDemoEvents(t.custos, host, dir);
    expect(first).toMatchObject({ ingested: 2, skipped: 0 });
    let recorded;
    for await (const e of t.custos.store.ledger.readEntries(first!.last!, first!.last! + 1)) recorded = decodeAccessEvent(e.entry);
    expect(recorded).toMatchObject({ id: 'ev-2', actor: 'emp-0007', details: { ingested: true, source: DEMO_SOURCE } });
    expect(existsSync(join(dir, 'recorded.json'))).toBe(true);
    expect(await recordDemoEvents(t.custos, host, dir)).toBeUndefined(); // all recorded before

    // A stop before the mark was written, with a third event still to go: only that one is sent.
    rmSync(join(dir, 'recorded.json'));
    writeFileSync(join(dir, 'events.jsonl'), [1, 2, 3].map((n) => JSON.stringify(event(n))).join('\n') + '\n');
    expect(await recordDemoEvents(t.custos, host, dir)).toMatchObject({ ingested: 1, skipped: 2 });
  }, 240_000);
});
