import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ForbiddenError } from '../errors.ts';
import { SqliteNoticeOutbox } from '../store/notice-outbox.ts';
import { backoffMs, failureOf, sendNotices, type MailTransport, type SendDeps } from './send.ts';
import { packNotice } from './queue.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function outboxWith(customers: string[]): Promise<SqliteNoticeOutbox> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-send-'));
  dirs.push(dir);
  const outbox = new SqliteNoticeOutbox(join(dir, 'notices.db'));
  const content = packNotice({
    incident: 'I', customer: '', locale: 'en', messageId: '', from: { name: 'E', address: 'n@x.example' }, replyTo: 'dpo@x.example', subject: 'S', blocks: [{ kind: 'p', text: 'hello' }],
  });
  await outbox.enqueue(customers.map((c) => ({ incident: 'I', customer: c, messageId: `<${c}@x.example>`, locale: 'en', entity: 'eu', content })), Date.now());
  return outbox;
}

function deps(outbox: SqliteNoticeOutbox, transport: MailTransport, extra: Partial<SendDeps> = {}): SendDeps {
  return {
    outbox, transport, owner: 'test', nowMs: Date.now, concurrency: 4, leaseMs: 60_000, waitForRetries: true,
    retry: { baseMs: 5, maxMs: 40, maxAttempts: 3 },
    addressFor: async (_incident, customer) => `${customer}@mail.example`,
    ...extra,
  };
}

describe('sending from the outbox', () => {
  it('sends each notice once, to the address the broker gives, with its Message-ID', async () => {
    const outbox = await outboxWith(['a', 'b', 'c', 'd', 'e']);
    const sent: Array<{ to: string; messageId: string }> = [];
    const summary = await sendNotices('I', deps(outbox, { sendMail: async (m) => void sent.push({ to: m.to, messageId: m.messageId }) }));
    expect(summary).toMatchObject({ sent: 5, failed: 0, bounced: 0 });
    expect(sent.map((s) => s.to).sort()).toEqual(['a', 'b', 'c', 'd', 'e'].map((c) => `${c}@mail.example`));
    expect(sent.find((s) => s.to === 'c@mail.example')?.messageId).toBe('<c@x.example>');
    expect(summary.outbox.sent).toEqual({ total: 5, pending: 0 });
    // The sender would catch a throw as an SMTP failure: count instead.
    let again = 0;
    expect((await sendNotices('I', deps(outbox, { sendMail: async () => void again++ }))).sent).toBe(0);
    expect(again).toBe(0);
  });

  it('retries a 4xx as failed until maxAttempts; a 5xx is bounced at once and never tried again', async () => {
    const outbox = await outboxWith(['ok', 'soft', 'hard', 'stuck']);
    const tries = new Map<string, number>();
    const transport: MailTransport = {
      async sendMail(m) {
        const n = (tries.get(m.to) ?? 0) + 1;
        tries.set(m.to, n);
        if (m.to.startsWith('soft') && n < 3) throw Object.assign(new Error('busy'), { responseCode: 451, response: '451 4.3.0 busy for soft@mail.example' });
        if (m.to.startsWith('stuck')) throw Object.assign(new Error('busy'), { responseCode: 421, response: '421 4.7.0 try later' });
        if (m.to.startsWith('hard')) throw Object.assign(new Error('no'), { responseCode: 550, response: '550 5.1.1 <hard@mail.example> unknown' });
      },
    };
    const summary = await sendNotices('I', deps(outbox, transport));
    expect(summary).toMatchObject({ sent: 2, failed: 5, bounced: 1 });
    expect(await outbox.get('I', 'soft')).toMatchObject({ state: 'sent', attempts: 3 });
    const hard = await outbox.get('I', 'hard');
    expect(hard).toMatchObject({ state: 'bounced', attempts: 1, dueMs: null });
    expect(hard?.lastError).toBe('550: 550 5.1.1 <address> unknown');
    expect(tries.get('hard@mail.example')).toBe(1);
    // A temporary refusal that never ends is given up after maxAttempts, still a failure.
    expect(await outbox.get('I', 'stuck')).toMatchObject({ state: 'failed', attempts: 3, dueMs: null, lastError: '421: 421 4.7.0 try later' });
  });

  it('stops at the broker\'s refusal, gives the rows back untried and says why', async () => {
    const outbox = await outboxWith(['a', 'b', 'c']);
    let sent = 0;
    const refused = sendNotices('I', deps(outbox, { sendMail: async () => void sent++ }, {
      addressFor: async () => {
        throw new ForbiddenError('not permitted by policy', 'not_permitted');
      },
    }));
    await expect(refused).rejects.toThrow(ForbiddenError);
    expect(sent).toBe(0);
    const counts = await outbox.counts('I');
    expect(counts.queued).toEqual({ total: 3, pending: 3 });
    expect(counts.sending.total).toBe(0);
  });

  it('marks a customer with no address as given up, and sends the others', async () => {
    const outbox = await outboxWith(['a', 'gone']);
    const summary = await sendNotices('I', deps(outbox, { sendMail: async () => {} }, { addressFor: async (_i, c) => (c === 'gone' ? undefined : `${c}@mail.example`) }));
    expect(summary).toMatchObject({ sent: 1, unreachable: 1 });
    expect(await outbox.get('I', 'gone')).toMatchObject({ state: 'failed', dueMs: null, lastError: 'no e-mail address held for this customer' });
  });

  it('hands messages to the transport no faster than the rate', async () => {
    const outbox = await outboxWith(Array.from({ length: 12 }, (_, i) => `c${i}`));
    const at: number[] = [];
    await sendNotices('I', deps(outbox, { sendMail: async () => void at.push(Date.now()) }, { rate: 40 }));
    // 12 at 40 a second: 11 gaps of 25 ms.
    expect(at[11]! - at[0]!).toBeGreaterThanOrEqual(11 * 25 - 5);
  });

  it('doubles the wait after each failure, up to the cap, and names no address in an error', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs({ baseMs: 10, maxMs: 60, maxAttempts: 9 }, n))).toEqual([10, 20, 40, 60, 60]);
    expect(failureOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toEqual({ state: 'failed', error: 'ECONNREFUSED: x' });
    expect(failureOf(Object.assign(new Error('x'), { responseCode: 552, response: '552 mailbox of a@b.example full' })).error).toBe('552: 552 mailbox of address full');
  });
});
