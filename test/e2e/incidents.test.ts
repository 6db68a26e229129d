/**
 * Incidents through the CLI: opened about a suspected employee (contained at once, the webhook
 * retried until it answers), moved through the lifecycle, every act recorded in the ledger and
 * refused to those Cedar does not allow, and an evidence pack checked with no store.
 */
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAccessEvent, type AccessEvent } from '../../src/model.ts';
import { Store } from '../../src/store/store.ts';
import { custosCli } from '../support/cli.ts';
import { respondFixture, type RespondFixture } from '../support/respond-fixture.ts';
import { storeTargets } from '../support/stores.ts';

/** A webhook receiver that fails `failures` times (503), then answers 200. */
async function flakyWebhook(failures: number): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  let calls = 0;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.statusCode = ++calls <= failures ? 503 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/contain`, bodies, server };
}

for (const target of storeTargets()) {
  describe(`incidents on ${target.name}`, () => {
    let fx: RespondFixture;
    let hook: Awaited<ReturnType<typeof flakyWebhook>>;
    let id: string;
    const cli = (args: string[]) => custosCli([...args, ...fx.flags], { env: { CUSTOS_CONTAINMENT_WEBHOOK: hook.url, CUSTOS_CONTAINMENT_WEBHOOK_BACKOFF_MS: '20' } });
    const show = async (as = 'dpo-0001') => {
      const res = await cli(['incident', 'show', id, '--json', '--as', as]);
      expect(res.code, res.stderr).toBe(0);
      return JSON.parse(res.stdout);
    };

    beforeAll(async () => {
      fx = await respondFixture(target.location());
      hook = await flakyWebhook(2);
    }, 120_000);
    afterAll(async () => {
      hook.server.close();
      await target.cleanup();
    });

    it('opens an incident about the subject: contained at once, the webhook retried with backoff until delivered, each attempt on the timeline', async () => {
      const res = await cli(['incident', 'open', '--employee', fx.subject, '--from', fx.from, '--to', fx.to, '--title', 'Seller leak suspected', '--as', 'dpo-0001']);
      expect(res.code, res.stderr).toBe(0);
      id = res.stdout.trim().split('\n').pop()!;
      expect(id).toMatch(/^inc-\d{8}-[0-9a-f]{8}$/);
      expect(res.stderr).toContain('delivered after 3 attempt(s)');

      const view = await show();
      expect(view).toMatchObject({ id, kind: 'insider', state: 'contained', subject: fx.subject, title: 'Seller leak suspected', openedBy: 'dpo-0001' });
      expect(view.timeline.map((t: { kind: string }) => t.kind)).toEqual(['opened', 'containment', 'webhook_attempt', 'webhook_attempt', 'webhook_attempt', 'webhook_outcome']);
      const attempts = view.timeline.filter((t: { kind: string }) => t.kind === 'webhook_attempt').map((t: { detail: unknown }) => t.detail);
      expect(attempts).toEqual([
        { attempt: 1, ok: false, status: 503, retryInMs: 20 },
        { attempt: 2, ok: false, status: 503, retryInMs: 40 },
        { attempt: 3, ok: true, status: 200 },
      ]);
      expect(view.timeline.at(-1).detail).toEqual({ delivered: true, attempts: 3 });
      expect(hook.bodies).toHaveLength(3);
      expect(hook.bodies[0]).toMatchObject({ event: 'employee.contained', incident: id, employee: fx.subject, reason: 'contained' });

      const store = await Store.open(fx.store);
      try {
        expect((await store.employees.get(fx.subject))!.status).toBe('suspended');
        // The opening and the containment are ledger entries, at the indexes the timeline names.
        const [opened, contained] = view.timeline;
        const events = await store.accessEvents.byActor('dpo-0001', { limit: 1000 });
        const bySeq = new Map(events.map((e) => [e.seq, e]));
        expect(bySeq.get(opened.seq)).toMatchObject({ decision: 'allow', target: { type: 'incident', id }, operation: 'create' });
        expect(bySeq.get(contained.seq)).toMatchObject({ decision: 'allow', target: { type: 'employee', id: fx.subject }, operation: 'suspend', details: { reason: 'contained', incident: id } });
      } finally {
        await store.close();
      }
    }, 120_000);

    it('moves through the lifecycle in order only, each move recorded; refuses those Cedar does not allow', async () => {
      for (const to of ['assessing', 'notifying']) {
        const res = await cli(['incident', 'transition', id, '--to', to, '--note', `now ${to}`, '--as', 'dpo-0001']);
        expect(res.code, res.stderr).toBe(0);
      }
      const backwards = await cli(['incident', 'transition', id, '--to', 'contained', '--as', 'dpo-0001']);
      expect(backwards.code).toBe(6);
      expect(backwards.stderr).toContain('is notifying; it can move to closed');

      // An agent may not see or move it; the refusals are recorded.
      const agent = await cli(['incident', 'show', id, '--as', 'emp-0002']);
      expect(agent.code).toBe(4);
      const agentOpen = await cli(['incident', 'open', '--employee', 'emp-0003', '--title', 'x', '--as', 'emp-0002']);
      expect(agentOpen.code).toBe(4);
      // An incident about a privacy officer: contained like anyone, and run by their colleagues.
      const second = await cli(['incident', 'open', '--employee', 'dpo-0002', '--title', 'DPO under suspicion', '--as', 'dpo-0001']);
      expect(second.code, second.stderr).toBe(0);
      const secondId = second.stdout.trim().split('\n').pop()!;
      const own = await cli(['incident', 'show', secondId, '--as', 'dpo-0003']);
      expect(own.code, own.stderr).toBe(0);

      const duties = await cli(['incident', 'obligations', id, '--json', '--as', 'dpo-0001']);
      expect(duties.code, duties.stderr).toBe(0);
      const obligations = JSON.parse(duties.stdout);
      expect(obligations.incident).toBe(id);
      // Every affected person falls under some jurisdiction's lines, authorities and individuals alike.
      expect(obligations.individuals.reduce((n: number, l: { affected: number }) => n + l.affected, 0)).toBeGreaterThanOrEqual(6);
      expect(obligations.authorities.length).toBeGreaterThan(0);

      const affected = await cli(['incident', 'affected', id, '--as', 'dpo-0001']);
      expect(affected.code, affected.stderr).toBe(0);
      expect(JSON.parse(affected.stdout)).toMatchObject({ incident: id, total: 6 });
      expect(JSON.parse(affected.stdout).customers[0]).toEqual(expect.objectContaining({ customer: expect.any(String), fields: expect.any(Array), first: expect.any(String), last: expect.any(String) }));

      const closed = await cli(['incident', 'transition', id, '--to', 'closed', '--as', 'dpo-0001']);
      expect(closed.code, closed.stderr).toBe(0);
      const view = await show();
      expect(view.state).toBe('closed');
      expect(view.timeline.filter((t: { kind: string }) => t.kind === 'transition').map((t: { detail: { to: string } }) => t.detail.to)).toEqual(['assessing', 'notifying', 'closed']);
      const list = await cli(['incident', 'list', '--json', '--as', 'dpo-0001']);
      expect(JSON.parse(list.stdout).items.map((i: { id: string }) => i.id)).toEqual(expect.arrayContaining([id, secondId]));

      const store = await Store.open(fx.store);
      try {
        const refused = (await store.accessEvents.byActor('emp-0002', { limit: 1000 })).filter((e) => e.decision === 'deny');
        expect(refused.map((e) => e.target?.type)).toEqual(['incident', 'incident']);
      } finally {
        await store.close();
      }
    }, 180_000);

    it('opens an accidental exposure (no one contained) and escalates an alert into an incident', async () => {
      const list = join(fx.dataDir, 'exposed.txt');
      writeFileSync(list, 'cus-000010\ncus-000011\n\ncus-000012\n');
      const exposed = await cli(['incident', 'open', '--customers', list, '--fields', 'name,email', '--from', fx.from, '--to', fx.to, '--title', 'Profile page showed other customers', '--as', 'dpo-0001']);
      expect(exposed.code, exposed.stderr).toBe(0);
      const exposureId = exposed.stdout.trim().split('\n').pop()!;
      const affected = JSON.parse((await cli(['incident', 'affected', exposureId, '--as', 'dpo-0001'])).stdout);
      expect(affected.customers.map((c: { customer: string; fields: string[]; first: string; last: string }) => [c.customer, c.fields, c.first, c.last]))
        .toEqual(['cus-000010', 'cus-000011', 'cus-000012'].map((c) => [c, ['email', 'name'], fx.from, fx.to]));
      expect(affected.customers.every((c: { country: string }) => c.country !== 'unknown')).toBe(true);
      // Ids nobody has, and fields nobody holds, are refused by name (the file's line), and the refusal recorded.
      const bad = join(fx.dataDir, 'exposed-bad.txt');
      writeFileSync(bad, 'cus-000010\n\ncus-999999\ncus-000011\nnobody-1\n');
      const unknown = await cli(['incident', 'open', '--customers', bad, '--fields', 'name,email', '--from', fx.from, '--to', fx.to, '--title', 'x', '--as', 'dpo-0001']);
      expect(unknown.code, unknown.stderr).toBe(5);
      expect(unknown.stderr).toContain(`${bad}:3: no customer "cus-999999" (line 3), "nobody-1" (line 5)`);
      const shoeSize = await cli(['incident', 'open', '--customers', list, '--fields', 'name,shoe_size', '--from', fx.from, '--to', fx.to, '--title', 'x', '--as', 'dpo-0001']);
      expect(shoeSize.code, shoeSize.stderr).toBe(2);
      expect(shoeSize.stderr).toContain('field "exposure.fields": no exposed customer holds "shoe_size"');
      const ledgerStore = await Store.open(fx.store);
      try {
        const last2: AccessEvent[] = [];
        const size = await ledgerStore.ledger.size();
        for await (const e of ledgerStore.ledger.readEntries(size - 2, size)) last2.push(decodeAccessEvent(e.entry)!);
        expect(last2.map((e) => [e.actor, e.decision, e.reason])).toEqual([['dpo-0001', 'deny', 'not_found'], ['dpo-0001', 'deny', 'field_unknown']]);
      } finally {
        await ledgerStore.close();
      }
      // Whoever may not respond learns nothing of which customers exist.
      const agent = await cli(['incident', 'open', '--customers', bad, '--fields', 'email', '--from', fx.from, '--to', fx.to, '--title', 'x', '--as', 'emp-0002']);
      expect(agent.code, agent.stderr).toBe(4);
      // Every obligations line names an authority, even where the table has no rule.
      const duties = JSON.parse((await cli(['incident', 'obligations', exposureId, '--json', '--as', 'dpo-0001'])).stdout);
      expect(duties.authorities.length).toBeGreaterThan(0);
      for (const line of duties.authorities) expect(typeof line.authority, line.jurisdiction).toBe('string');
      // Or given as a query over events: what the batch channel exported in the window.
      const byQuery = await cli(['incident', 'open', '--exposed-channel', 'batch', '--from', fx.from, '--to', fx.to, '--title', 'Export job sent files to the wrong bucket', '--as', 'dpo-0001']);
      expect(byQuery.code, byQuery.stderr).toBe(0);
      const queried = JSON.parse((await cli(['incident', 'affected', byQuery.stdout.trim().split('\n').pop()!, '--as', 'dpo-0001'])).stdout);
      expect(queried.customers.map((c: { customer: string; fields: string[] }) => [c.customer, c.fields])).toEqual([...fx.events[5]!.customers].sort().map((c) => [c, ['email', 'phone']]));
      const noWindow = await cli(['incident', 'open', '--exposed-channel', 'batch', '--title', 'x', '--as', 'dpo-0001']);
      expect(noWindow.code).toBe(2);

      const moved = await cli(['incident', 'transition', exposureId, '--to', 'assessing', '--as', 'dpo-0001']);
      expect(moved.code, moved.stderr).toBe(0);

      // An alert about emp-0005, escalated by opening an incident from it.
      const store = await Store.open(fx.store);
      const now = new Date().toISOString();
      try {
        await store.alerts.saveDetections('test', [{
          seq: 0,
          alert: {
            id: 'alt-fx-1', employee: 'emp-0005', score: 82, severity: 'high', detectedAt: now, firstEventAt: fx.from, updatedAt: now,
            detectors: [{ name: 'no_purpose', score: 82, evidence: { summary: 'reveals without a purpose', counts: {}, baseline: {}, samples: [] } }],
            explanation: 'reveals without a purpose', state: 'open',
          },
        }], 1, new Date());
      } finally {
        await store.close();
      }
      const escalated = await cli(['incident', 'open', '--alert', 'alt-fx-1', '--title', 'Escalated from alt-fx-1', '--as', 'dpo-0001']);
      expect(escalated.code, escalated.stderr).toBe(0);
      const fromAlert = JSON.parse((await cli(['incident', 'show', escalated.stdout.trim().split('\n').pop()!, '--json', '--as', 'dpo-0001'])).stdout);
      expect(fromAlert).toMatchObject({ kind: 'insider', subject: 'emp-0005', alert: 'alt-fx-1', state: 'contained', from: fx.from });
      const after = await Store.open(fx.store);
      try {
        expect((await after.alerts.get('alt-fx-1'))!.state).toBe('escalated');
        expect((await after.employees.get('emp-0005'))!.status).toBe('suspended');
      } finally {
        await after.close();
      }
    }, 180_000);

    it('exports an evidence pack whose every event verifies against the signed checkpoint with no store', async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'custos-evidence-')), 'pack');
      const res = await cli(['incident', 'export', id, '--out', out, '--as', 'dpo-0001']);
      expect(res.code, res.stderr).toBe(0);
      const lines = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      // Every event of the subject in the window: the reveals, the export, the denial and the view.
      expect(lines.map((l) => l.event.id)).toEqual(fx.events.filter((e) => e.time >= fx.from).map((e) => e.id));
      expect(JSON.parse(readFileSync(join(out, 'blast-radius.json'), 'utf8')).total).toBe(6);
      expect(JSON.parse(readFileSync(join(out, 'incident.json'), 'utf8')).timeline.at(-1)).toMatchObject({ kind: 'export' });
      expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('custos ledger verify-proof');
      const key = readFileSync(join(out, 'verifier-key.txt'), 'utf8').trim();

      // No store: a data directory that does not exist, and no store URL.
      const offline = { env: { CUSTOS_DATA: join(out, 'no-such-dir'), CUSTOS_STORE: '' } };
      for (const l of lines) {
        const verified = await custosCli(['ledger', 'verify-proof', '--proof', join(out, l.proof), '--entry', join(out, l.entry), '--checkpoint', join(out, 'checkpoint.txt'), '--key', key], offline);
        expect(verified.code, verified.stderr).toBe(0);
        expect(verified.stdout).toContain(`inclusion proof OK: entry ${l.seq}`);
      }
      // A doctored entry does not.
      const first = lines[0];
      writeFileSync(join(out, first.entry), readFileSync(join(out, first.entry), 'utf8').replace(fx.subject, 'emp-0000'));
      const doctored = await custosCli(['ledger', 'verify-proof', '--proof', join(out, first.proof), '--entry', join(out, first.entry), '--checkpoint', join(out, 'checkpoint.txt'), '--key', key], offline);
      expect(doctored.code).not.toBe(0);
      expect(readdirSync(join(out, 'proofs'))).toHaveLength(lines.length);
    }, 180_000);
  });
}
