/**
 * Attribution of a leaked list: matched by blind index (nothing decrypted), employees ranked by
 * what of the list they saw, when, and with what purpose; a canary pins the source down. The
 * store and the same records as files give the same answer.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessEvent } from '../../src/model.ts';
import { CANARY_EVERY, demoCustomer } from '../../src/simulate/demo-org.ts';
import { custosCli } from '../support/cli.ts';
import { respondFixture, type RespondFixture } from '../support/respond-fixture.ts';
import { storeTargets } from '../support/stores.ts';

// The demo organisation's first canary.
const CANARY = `cus-${String(CANARY_EVERY - 1).padStart(6, '0')}`;
const emailOf = (id: string) => demoCustomer(Number(id.slice(4)), CANARY_EVERY).email;
const phoneOf = (id: string) => demoCustomer(Number(id.slice(4)), CANARY_EVERY).phone;
if (!demoCustomer(CANARY_EVERY - 1, CANARY_EVERY).canary) throw new Error(`${CANARY} is not a canary`);

for (const target of storeTargets()) {
  describe(`attribution on ${target.name}`, () => {
    let fx: RespondFixture;
    let leaked: string[];
    let leakedAt: string;
    beforeAll(async () => {
      fx = await respondFixture(target.location(), {
        customers: CANARY_EVERY,
        extra: ({ pool, t, id }) => {
          leaked = pool.slice(10, 30);
          leakedAt = t(60);
          const reveal = (actor: string, minutesAgo: number, customer: string, fields: string[]): AccessEvent => ({ id: id(), time: t(minutesAgo), actor, action: 'reveal', customers: [customer], fields, decision: 'allow', channel: 'legacy' });
          return [
            // The leaker: every e-mail of the list, no purpose, and the canary's (from a system not behind the broker).
            ...leaked.map((c, i) => reveal('emp-0201', 120 - i, c, ['email'])),
            reveal('emp-0201', 95, CANARY, ['email']),
            // A colleague who saw five of them.
            ...leaked.slice(0, 5).map((c, i) => reveal('emp-0202', 110 - i, c, ['email'])),
            // Someone who saw their phone numbers, not their e-mails.
            ...leaked.map((c, i) => reveal('emp-0203', 100 - i, c, ['phone'])),
            // Someone who saw ten e-mails, but only after the list surfaced.
            ...leaked.slice(5, 15).map((c, i) => reveal('emp-0204', 30 - i, c, ['email'])),
          ];
        },
      });
    }, 180_000);
    afterAll(() => target.cleanup());

    function writeList(name: string, withCanary: boolean): string {
      const file = join(fx.dataDir, name);
      const lines = [
        ...leaked.map((c, i) => (i === 0 ? `  ${emailOf(c).toUpperCase()}  ` : emailOf(c))),
        ...(withCanary ? [emailOf(CANARY)] : []),
        'nobody1@nowhere.example', 'nobody2@nowhere.example', '+14155550100',
        'not an address @', '',
        'call me maybe',
        // A phone number of a customer no one revealed.
        phoneOf('cus-000040'),
      ];
      writeFileSync(file, `${lines.join('\n')}\n`);
      return file;
    }

    async function run(list: string, extra: string[], badLine: number): Promise<any> {
      const store = await custosCli(['attribute', '--leaked', list, '--json', ...extra, ...fx.flags, '--as', 'dpo-0001']);
      expect(store.code, store.stderr).toBe(0);
      const files = await custosCli(['attribute', '--leaked', list, '--json', ...extra, '--customers', fx.files.customers, '--events', fx.files.events, '--cases', fx.files.cases]);
      expect(files.code, files.stderr).toBe(0);
      expect(JSON.parse(files.stdout)).toEqual(JSON.parse(store.stdout));
      expect(store.stderr).toContain(`${list}:${badLine}: not an e-mail address`);
      return JSON.parse(store.stdout);
    }

    it('a canary in the list pins the source down; the rest is ranked by coverage, purpose and exclusivity', async () => {
      const result = await run(writeList('leak-canary.txt', true), [], 25);
      expect(result.matched).toBe(22);
      expect(result.unmatched).toBe(3);
      expect(result.bad.map((b: { line: number }) => b.line)).toEqual([25, 27]);
      expect(result.canaries).toEqual([CANARY]);
      const [first, second, third, ...rest] = result.candidates;
      expect(first).toMatchObject({ employee: 'emp-0201', covered: 21, unjustified: 21, canaries: [CANARY], score: 100 });
      expect(first.explanation).toContain('pins the source');
      // Without a leak date, the later viewer counts too.
      expect(second).toMatchObject({ employee: 'emp-0204', covered: 10, unjustified: 10, exclusive: 0, sharedWith: 1 });
      expect(third).toMatchObject({ employee: 'emp-0202', covered: 5, unjustified: 5, exclusive: 0, sharedWith: 1 });
      expect(third.score).toBeLessThan(second.score);
      // Phone numbers seen are not e-mails leaked.
      expect(rest).toEqual([]);
    }, 120_000);

    it('gives the same ranking from the store and the files when the list spans many index queries', async () => {
      const file = join(fx.dataDir, 'everyone.txt');
      // Every customer's e-mail, then one bad line: more customers than one index query takes.
      const all = [...Array(CANARY_EVERY).keys()].map((i) => demoCustomer(i + 1, CANARY_EVERY).email);
      writeFileSync(file, `${all.join('\n')}\nnot an address @\n`);
      const result = await run(file, [], CANARY_EVERY + 1);
      expect(result.matched).toBe(CANARY_EVERY);
      expect(result.candidates[0]).toMatchObject({ employee: 'emp-0201', covered: 21, canaries: [CANARY] });
      expect(result.candidates.map((c: { employee: string }) => c.employee)).toContain(fx.subject);
    }, 120_000);

    it('without a canary, ranks by coverage; with the leak date, later accesses do not count', async () => {
      const list = writeList('leak.txt', false);
      const result = await run(list, ['--leaked-at', leakedAt], 24);
      expect(result.matched).toBe(21);
      expect(result.candidates.map((c: { employee: string }) => c.employee)).toEqual(['emp-0201', 'emp-0202']);
      expect(result.candidates[0]).toMatchObject({ covered: 20, coverage: Number((20 / 21).toFixed(4)), exclusive: 15, canaries: [] });
      expect(result.candidates[0].score).toBeGreaterThan(result.candidates[1].score);
    }, 120_000);
  });
}
