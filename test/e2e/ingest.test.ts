/**
 * Ingest, as a system not behind the broker uses it: POST /v1/events with a JSONL body, and
 * `custos ingest events FILE`. Each event lands in the ledger with its own actor and time,
 * marked as ingested, after the ingest act; a bad line refuses the whole body, naming the line
 * and the field, and records nothing but the act and its refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { custosCli } from '../support/cli.ts';
import { startInstance, type TestInstance } from '../support/instance.ts';
import { cliStore, storeTargets } from '../support/stores.ts';
import { Store } from '../../src/store/store.ts';
import { decodeAccessEvent, type AccessEvent, type Employee } from '../../src/model.ts';

const SLOW = 240_000;
const MAX_BYTES = 64 * 1024;

const jsonl = (...objects: unknown[]) => objects.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join('\n') + '\n';
const crmEvent = (n: number, extra: Record<string, unknown> = {}) => ({
  id: `crm-${n}`, time: `2026-03-02T09:${String(n % 60).padStart(2, '0')}:00Z`, actor: 'emp-0007', action: 'reveal',
  customers: [`cus-${String(n).padStart(6, '0')}`], fields: ['email'], decision: 'allow', channel: 'crm', ...extra,
});
const staff = (id: string, role: string): Employee => ({ id, name: `Name ${id}`, team: 'ops', role, location: 'Milan', hiredAt: '2024-01-01T00:00:00.000Z', status: 'active' });

async function ledgerSince(store: Store, from: number): Promise<AccessEvent[]> {
  const out: AccessEvent[] = [];
  for await (const e of store.ledger.readEntries(from, await store.ledger.size())) out.push(decodeAccessEvent(e.entry)!);
  return out;
}

for (const target of storeTargets()) {
  describe(`POST /v1/events on ${target.name}`, () => {
    let t: TestInstance;
    let ingester: string;

    beforeAll(async () => {
      t = await startInstance({ store: target.location(), customers: 50, env: { CUSTOS_INGEST_MAX_BYTES: String(MAX_BYTES) } });
      await t.custos.store.employees.upsertMany([staff('app-crm', 'ingester')], new Date());
      ingester = await t.token('app-crm');
    }, SLOW);
    afterAll(async () => {
      await t?.stop();
      await target.cleanup();
    });

    const post = async (body: string, opts: { token?: string; type?: string; query?: string } = {}) => {
      const res = await fetch(`${t.base}/v1/events${opts.query ?? ''}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.token ?? ingester}`, 'content-type': opts.type ?? 'application/x-ndjson' },
        body,
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    it('records each event with its own actor and time, marked ingested, between the act and its outcome', async () => {
      const from = await t.custos.store.ledger.size();
      const res = await post(jsonl(crmEvent(1), crmEvent(2, { purpose: { kind: 'case', ref: 'case-9' }, ticket: 'T-1' }), '', { time: '2026-03-02T10:00:00+01:00', actor: 'emp-0008', action: 'view', customers: ['cus-000003'], fields: [], decision: 'deny', reason: 'no_purpose' }), { query: '?source=crm' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ ingested: 3, act: from, first: from + 1, last: from + 3 });
      const events = await ledgerSince(t.custos.store, from);
      expect(events).toHaveLength(5);
      expect(events[0]).toMatchObject({ actor: 'app-crm', decision: 'allow', operation: 'import', target: { type: 'directory', id: 'events' }, details: { source: 'crm' } });
      expect(events[1]).toMatchObject({ id: 'crm-1', actor: 'emp-0007', time: '2026-03-02T09:01:00.000Z', action: 'reveal', customers: ['cus-000001'], fields: ['email'], decision: 'allow', channel: 'crm', details: { ingested: true, source: 'crm', ingestAct: from } });
      expect(events[2]).toMatchObject({ id: 'crm-2', purpose: { kind: 'case', ref: 'case-9' }, details: { ticket: 'T-1', ingested: true } });
      // No id given: one is assigned; the time is kept (in UTC), the deny and its reason too.
      expect(events[3]).toMatchObject({ actor: 'emp-0008', time: '2026-03-02T09:00:00.000Z', decision: 'deny', reason: 'no_purpose', details: { ingested: true } });
      expect(events[3]!.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(events[4]).toMatchObject({ actor: 'app-crm', operation: 'import', details: { result: 'done', recorded: 3, lines: 3, first: from + 1, last: from + 3 } });
    });

    it('refuses the whole body for one bad line, naming the line and the field; nothing of it is recorded', async () => {
      const from = await t.custos.store.ledger.size();
      const res = await post(jsonl(crmEvent(10), crmEvent(11), { ...crmEvent(12), time: 'yesterday' }, crmEvent(13), '{"broken": '));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_input', line: 3, field: 'time' });
      expect(res.body.message).toMatch(/^line 3: field "time": must be an RFC 3339 date-time/);
      expect(res.body.message).toContain('nothing was ingested');
      expect(res.body.problems).toEqual([
        { line: 3, field: 'time', message: expect.stringContaining('line 3: field "time"') },
        { line: 5, message: expect.stringMatching(/^line 5: not valid JSON/) },
      ]);
      const events = await ledgerSince(t.custos.store, from);
      expect(events.map((e) => e.actor)).toEqual(['app-crm', 'app-crm']);
      expect(events[1]).toMatchObject({ details: { result: 'rejected', lines: 5, badLines: 2, firstBadLine: 3 } });
      expect(events.some((e) => e.id === 'crm-10')).toBe(false);
    });

    it('names a bad field deep in an event, and text no ledger entry may hold', async () => {
      const bad = await post(jsonl(crmEvent(20, { customers: ['cus-000001', 'not an id'] })));
      expect(bad.body).toMatchObject({ line: 1, field: 'customers.1' });
      const action = await post(jsonl(crmEvent(21, { action: 'steal' })));
      expect(action.body).toMatchObject({ line: 1, field: 'action' });
      expect(action.body.message).toContain('view, reveal, search, export, update, delete');
      const bidi = await post(jsonl(crmEvent(22, { channel: 'crm\u202e' })));
      expect(bidi.body).toMatchObject({ line: 1, field: 'channel' });
      const empty = await post('\n\n');
      expect(empty.status).toBe(400);
      // An event from the future would be the newest thing its actor did, for detection: refused.
      const ahead = new Date(Date.now() + 60 * 60_000).toISOString();
      const future = await post(jsonl(crmEvent(23), crmEvent(24, { time: ahead })));
      expect(future.status).toBe(400);
      expect(future.body).toMatchObject({ line: 2, field: 'time' });
      expect(future.body.message).toMatch(/^line 2: time .* is more than 5 minutes ahead of this server's clock/);
      expect((await post(jsonl(crmEvent(25, { time: new Date(Date.now() + 60_000).toISOString() })))).status).toBe(200);
    });

    it('answers 413 for a body over the limit, 415 for another content type, and records both refusals', async () => {
      const from = await t.custos.store.ledger.size();
      const many = Array.from({ length: 1000 }, (_, i) => crmEvent(100 + i));
      const big = await post(jsonl(...many));
      expect(big.status).toBe(413);
      expect(big.body).toMatchObject({ error: 'too_large' });
      expect(big.body.message).toContain(String(MAX_BYTES));
      const events = await ledgerSince(t.custos.store, from);
      expect(events.map((e) => e.details?.result ?? 'act')).toEqual(['act', 'rejected']);
      expect(events[1]).toMatchObject({ details: { why: 'too_large' } });

      const json = await post(JSON.stringify(crmEvent(1)), { type: 'application/json' });
      expect(json.status).toBe(415);
    });

    it('counts a streamed body of unknown length as it arrives: 413 past the limit; lines split across chunks read whole', async () => {
      const streamed = async (chunks: string[]) => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
            controller.close();
          },
        });
        const res = await fetch(`${t.base}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ingester}`, 'content-type': 'application/x-ndjson' },
          body,
          duplex: 'half',
        } as RequestInit);
        return { status: res.status, body: (await res.json()) as any };
      };
      const from = await t.custos.store.ledger.size();
      const line = `${JSON.stringify(crmEvent(5000))}\n`;
      const big = await streamed(Array.from({ length: Math.ceil((MAX_BYTES + 1) / line.length) }, () => line));
      expect(big).toMatchObject({ status: 413, body: { error: 'too_large' } });
      const other = `${JSON.stringify(crmEvent(5001))}\n`;
      const ok = await streamed([line, other.slice(0, 10), other.slice(10)]);
      expect(ok).toMatchObject({ status: 200, body: { ingested: 2 } });
      const events = await ledgerSince(t.custos.store, from);
      expect(events.filter((e) => e.details?.ingested === true).map((e) => e.id)).toEqual(['crm-5000', 'crm-5001']);
      expect(events.at(-1)).toMatchObject({ details: { result: 'done', recorded: 2, lines: 2 } });
    });

    it('records an event sent again under the same id from the same source once, so a resend is safe', async () => {
      const first = await post(jsonl(crmEvent(7000), crmEvent(7001)), { query: '?source=vpn' });
      expect(first.body).toMatchObject({ ingested: 2, skipped: 0 });
      const from = await t.custos.store.ledger.size();
      const again = await post(jsonl(crmEvent(7000), crmEvent(7001), crmEvent(7002), crmEvent(7002)), { query: '?source=vpn' });
      expect(again.body).toMatchObject({ ingested: 1, skipped: 3 });
      const events = await ledgerSince(t.custos.store, from);
      expect(events.filter((e) => e.details?.ingested === true).map((e) => e.id)).toEqual(['crm-7002']);
      expect(events.at(-1)).toMatchObject({ details: { result: 'done', recorded: 1, skipped: 3 } });
      // Another source's ids are its own.
      expect((await post(jsonl(crmEvent(7000)), { query: '?source=crm' })).body).toMatchObject({ ingested: 1, skipped: 0 });
    });

    it("never skips one account's events because another account sent their ids first under the same source name", async () => {
      await t.custos.store.employees.upsertMany([staff('app-rogue', 'ingester')], new Date());
      const rogue = await t.token('app-rogue');
      // A rogue system claims source "door" and sends, with harmless contents, the ids the door system will use.
      expect((await post(jsonl(crmEvent(8000, { action: 'view', fields: [] })), { token: rogue, query: '?source=door' })).body).toMatchObject({ ingested: 1, skipped: 0 });
      const from = await t.custos.store.ledger.size();
      expect((await post(jsonl(crmEvent(8000)), { query: '?source=door' })).body).toMatchObject({ ingested: 1, skipped: 0 });
      const events = await ledgerSince(t.custos.store, from);
      expect(events.filter((e) => e.details?.ingested === true)).toMatchObject([{ id: 'crm-8000', action: 'reveal', details: { source: 'door' } }]);
    });

    it('lets only those Cedar allows ingest: a denial is recorded, and an ingester may do nothing else', async () => {
      const agent = await t.token('emp-0001');
      const from = await t.custos.store.ledger.size();
      const denied = await post(jsonl(crmEvent(30)), { token: agent });
      expect(denied.status).toBe(403);
      const events = await ledgerSince(t.custos.store, from);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actor: 'emp-0001', decision: 'deny', operation: 'import', target: { type: 'directory', id: 'events' } });

      const admin = await post(jsonl(crmEvent(31)), { token: await t.token('adm-0001') });
      expect(admin.status).toBe(200);
      const view = await t.call('GET', '/v1/customers/cus-000001', { token: ingester });
      expect(view.status).toBe(403);
    });

    it('streams a large body in bounded memory: a body near the limit is recorded whole', async () => {
      const count = Math.floor(MAX_BYTES / (JSON.stringify(crmEvent(1000)).length + 1)) - 5;
      const res = await post(jsonl(...Array.from({ length: count }, (_, i) => crmEvent(1000 + i))));
      expect(res.status).toBe(200);
      expect(res.body.ingested).toBe(count);
      expect(res.body.last - res.body.first).toBe(count - 1);
    });
  });

  describe(`custos ingest events on ${target.name}`, () => {
    const { loc, flags, file } = cliStore(target, 'custos-ingest-');
    const events = async () => {
      const store = await Store.open(loc);
      try {
        return await ledgerSince(store, 0);
      } finally {
        await store.close();
      }
    };
    afterAll(() => target.cleanup());

    it('records a file line by line as ingested events, or nothing when a line is bad', async () => {
      const employees = file('employees.jsonl', jsonl(staff('adm-1', 'admin'), staff('app-1', 'ingester'), staff('emp-1', 'agent')));
      expect((await custosCli(['import', 'employees', employees, ...flags])).code).toBe(0);

      const bad = file('bad.jsonl', jsonl(crmEvent(1), { ...crmEvent(2), decision: 'maybe' }, crmEvent(3), { ...crmEvent(4), actor: '' }));
      const refused = await custosCli(['ingest', 'events', bad, '--as', 'app-1', '--source', 'vpn', ...flags]);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toContain(`${bad}:2: field "decision": must be one of allow, deny`);
      expect(refused.stderr).toContain(`also bad: ${bad}:4: field "actor"`);
      expect((await events()).some((e) => e.details?.ingested)).toBe(false);

      const good = file('good.jsonl', jsonl(...Array.from({ length: 2500 }, (_, i) => crmEvent(i))));
      const done = await custosCli(['ingest', 'events', good, '--as', 'app-1', '--source', 'vpn', ...flags]);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/^ingested 2500 events from .*good\.jsonl \(ledger entries \d+–\d+\)/);
      const all = await events();
      const ingested = all.filter((e) => e.details?.ingested === true);
      expect(ingested).toHaveLength(2500);
      // In file order, with the ledger index of their act.
      expect(ingested.map((e) => e.id)).toEqual(Array.from({ length: 2500 }, (_, i) => `crm-${i}`));
      const act = all.findIndex((e) => e.actor === 'app-1' && e.details?.file === 'good.jsonl');
      expect(ingested.every((e) => e.details?.source === 'vpn' && e.details?.ingestAct === act)).toBe(true);

      const denied = await custosCli(['ingest', 'events', good, '--as', 'emp-1', ...flags]);
      expect(denied.code).toBe(4);
      expect((await events()).at(-1)).toMatchObject({ actor: 'emp-1', decision: 'deny', operation: 'import' });
    }, SLOW);
  });
}
