/**
 * Customer notices end to end, through the real `custos` command and a real SMTP server on
 * loopback: every message received is parsed and checked for its language, the fields it names
 * and does not name, its headers and the absence of tracking; exactly once per customer across
 * a kill -9 of the sender; retries after 4xx replies, none after a 5xx; bounce reports (RFC
 * 3464) recorded; the rate limit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BIN, custosCli } from '../support/cli.ts';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../support/smtp.ts';
import { untilLoadedDeadline } from '../support/wait.ts';
import { postfixDsn, rfc822Dsn } from '../support/dsn.ts';
import { noticeMessageId } from '../../src/notify/render.ts';
import { Store } from '../../src/store/store.ts';
import { decodeAccessEvent, type AccessEvent } from '../../src/model.ts';

const SLOW = 240_000;
const DOMAIN = 'notices.test.example';
const lines = (...objects: unknown[]) => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
const employee = (id: string, role: string) => ({ id, name: `Name ${id}`, team: 'privacy', role, location: 'Dublin', hiredAt: '2024-01-01T00:00:00Z' });

/** Country, a valid phone prefix there, and the locale on record (null: none). */
const PEOPLE: Array<[string, string, string | null]> = [
  ['IT', '+39 312 345 67', 'it-IT'],
  ['FR', '+33 6 12 34 56', 'fr-FR'],
  ['JP', '+81 90-1234-56', 'ja-JP'],
  ['ID', '+62 812 3456 78', null],
  ['DE', '+49 1512 34567', 'de-DE'],
  ['ES', '+34 612 34 56', 'es'],
  ['BR', '+55 11 91234 56', 'pt-BR'],
  ['GB', '+44 7911 1234', 'en-GB'],
  // A Dutch speaker in Italy: no Dutch catalog, so English; the Italian account's entity.
  ['IT', '+39 313 456 78', 'nl-NL'],
];
/** What each language must say (the disclosed e-mail address) and must not (the phone, not disclosed, named as such). */
const SAYS: Record<string, { email: string; notDisclosed: RegExp }> = {
  it: { email: 'il tuo indirizzo e-mail', notDisclosed: /Non divulgato: il tuo numero di telefono e il tuo nome\./ },
  fr: { email: 'votre adresse e-mail', notDisclosed: /Non divulgué : votre numéro de téléphone et votre nom\./ },
  ja: { email: 'メールアドレス', notDisclosed: /漏えいしていない情報：電話番号、氏名。/ },
  id: { email: 'alamat email Anda', notDisclosed: /Tidak dibocorkan: nomor telepon Anda dan nama Anda\./ },
  de: { email: 'Ihre E-Mail-Adresse', notDisclosed: /Nicht offengelegt: Ihre Telefonnummer und Ihr Name\./ },
  es: { email: 'su dirección de correo electrónico', notDisclosed: /No revelado: su número de teléfono y su nombre\./ },
  'pt-BR': { email: 'seu endereço de e-mail', notDisclosed: /Não divulgado: seu número de telefone e seu nome\./ },
  en: { email: 'your e-mail address', notDisclosed: /Not disclosed: your phone number and your name\./ },
};
const localeOf = (c: { country: string; locale?: string }) => (c.locale === 'nl-NL' ? 'en' : { IT: 'it', FR: 'fr', JP: 'ja', ID: 'id', DE: 'de', ES: 'es', BR: 'pt-BR', GB: 'en' }[c.country]!);
const ENTITY_OF: Record<string, string> = { IT: 'Example Marketplace Europe Ltd', FR: 'Example Marketplace Europe Ltd', DE: 'Example Marketplace Europe Ltd', ES: 'Example Marketplace Europe Ltd', GB: 'Example Marketplace UK Ltd', JP: 'Example Marketplace Japan G.K.', ID: 'PT Example Marketplace Indonesia', BR: 'Example Marketplace Brasil Ltda.' };

function customer(n: number) {
  const [country, phone, locale] = PEOPLE[n % PEOPLE.length]!;
  return { id: `c-${String(n).padStart(3, '0')}`, email: `person${n}@mail.example`, phone: `${phone}${String(n % 100).padStart(2, '0')}`, name: `Person ${n}`, country, ...(locale ? { locale } : {}) };
}

const COUNT = 90;
/** An Italian account held by the UK entity: the record's own entity speaks, not its country's. */
const UK_HELD = { id: 'c-uk-held', email: 'held@mail.example', phone: '+39 312 345 6701', name: 'Held', country: 'IT', locale: 'it-IT', entity: 'uk' };
const CANARY = { id: 'c-canary', email: 'bait@mail.example', phone: '+39 312 345 6700', name: 'Bait', country: 'IT', canary: true };

/** What the notices say besides the incident's own data: as `custos notify queue` flags. */
const FACTS = ['--recipient', 'third-party', '--action', 'access-revoked', 'law-enforcement', 'recipient-blocked',
  '--authority', 'IT:Garante per la protezione dei dati personali', '--authority', 'IE:Data Protection Commission'];
const WINDOW = ['--from', '2026-03-01T10:00:00Z', '--to', '2026-03-04T18:30:00Z'];

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const numberOf = (address: string) => Number(/^person(\d+)@/.exec(address)?.[1]);

describe('custos notify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-notify-'));
  const flags = ['--data', dir];
  const file = (name: string, value: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
    return p;
  };
  const ok = async (args: string[]) => {
    const res = await custosCli([...args, ...flags], { env: { CUSTOS_NOTICE_DOMAIN: DOMAIN } });
    expect(res.code, res.stderr).toBe(0);
    return res;
  };
  let opened = 0;
  /** An exposure incident of these customers' e-mail addresses, in the store, moved on to assessing. */
  const openIncident = async (ids: string[]) => {
    const list = file(`exposed-${++opened}.txt`, ids.join('\n'));
    const id = (await ok(['incident', 'open', '--customers', list, '--fields', 'email', ...WINDOW, '--title', `Exposure ${opened}`, '--as', 'dpo-1'])).stdout.trim().split('\n').pop()!;
    await ok(['incident', 'transition', id, '--to', 'assessing', '--as', 'dpo-1']);
    return id;
  };
  /** Open such an incident for customers `numbers` and queue its notices; its id and what queuing said. */
  const queued = async (numbers: number[], extra: string[] = []) => {
    const id = await openIncident([...numbers.map((n) => customer(n).id), ...extra]);
    const result = JSON.parse((await ok(['notify', 'queue', '--incident', id, ...FACTS, '--reference', `REF-${id}`, '--as', 'dpo-1'])).stdout);
    return { id, result };
  };
  const status = async (id: string) => JSON.parse((await ok(['notify', 'status', '--incident', id])).stdout);
  const show = async (id: string) => JSON.parse((await ok(['incident', 'show', id, '--json', '--as', 'dpo-1'])).stdout);
  const ledger = async (): Promise<AccessEvent[]> => {
    const store = await Store.open({ dialect: 'sqlite', file: join(dir, 'custos.db') });
    try {
      const out: AccessEvent[] = [];
      for await (const e of store.ledger.readEntries(0, await store.ledger.size())) out.push(decodeAccessEvent(e.entry)!);
      return out;
    } finally {
      await store.close();
    }
  };
  const sinks: SmtpSink[] = [];
  const sink = async (opts: Parameters<typeof startSmtpSink>[0] = {}) => {
    const s = await startSmtpSink(opts);
    sinks.push(s);
    return s;
  };

  beforeAll(async () => {
    await ok(['import', 'employees', file('employees.jsonl', lines(employee('dpo-1', 'privacy_officer'), employee('agent-1', 'agent'), employee('sec-1', 'security_analyst')))]);
    await ok(['import', 'customers', file('customers.jsonl', lines(...range(0, COUNT).map(customer), CANARY, UK_HELD))]);
  }, SLOW);

  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  let INC1 = '';

  it('sends each affected customer one notice in their language, from their entity, naming what was disclosed and what was not', async () => {
    const { id, result } = await queued(range(0, 18), ['c-canary']);
    INC1 = id;
    expect(result).toEqual({ incident: id, queued: 18, already: 0, skipped: { unknown_customer: 0, canary: 1, no_email: 0 } });
    // Queuing again adds nobody twice.
    expect(JSON.parse((await ok(['notify', 'queue', '--incident', id, ...FACTS, '--as', 'dpo-1'])).stdout)).toMatchObject({ queued: 0, already: 18 });

    const smtp = await sink();
    const sent = await ok(['notify', 'send', '--incident', id, '--smtp', smtp.url, '--as', 'dpo-1']);
    expect(JSON.parse(sent.stdout)).toMatchObject({ incident: id, sent: 18, failed: 0, bounced: 0 });
    expect(sent.stderr).toMatch(/18\/18 sent/);
    expect(smtp.received).toHaveLength(18);

    for (const mail of smtp.received) {
      const n = numberOf(mail.to[0]!);
      const c = customer(n);
      const locale = localeOf(c);
      const { parsed, raw } = mail;
      const headers = raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1');
      expect(mail.to).toEqual([c.email]);
      expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0]?.address : undefined).toBe(c.email);
      expect(parsed.headers.get('content-language'), c.id).toBe(locale);
      expect(parsed.from?.value[0]).toEqual({ name: ENTITY_OF[c.country], address: `notices@${DOMAIN}` });
      expect(parsed.messageId).toBe(noticeMessageId(id, c.id, DOMAIN));
      expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
      // RFC 5322 headers are ASCII: a non-ASCII subject or name travels as RFC 2047 encoded words.
      expect(headers).toMatch(/^[\x00-\x7f]*$/);
      if (/[^\x00-\x7f]/.test(parsed.subject ?? '')) expect(headers).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/m);
      expect(parsed.subject).toContain(`REF-${id}`);
      for (const body of [parsed.text ?? '', parsed.html || '']) {
        expect(body, `${c.id} ${locale}`).toContain(SAYS[locale]!.email);
        expect(body.replace(/&#39;/g, "'"), `${c.id} ${locale}`).toMatch(SAYS[locale]!.notDisclosed);
        // The address itself is never quoted in the notice.
        expect(body).not.toContain(c.email);
      }
      // No tracking: no images, no links, nothing fetched.
      expect(parsed.html).not.toMatch(/<img|<a\s|href=|src=|url\(/i);
      expect(parsed.attachments).toEqual([]);
    }
    const italian = smtp.received.find((m) => numberOf(m.to[0]!) === 0)!.parsed.text!;
    // Its country's authority, and its entity's lead authority (Ireland's), both informed.
    expect(italian).toContain('Abbiamo informato Garante per la protezione dei dati personali e Data Protection Commission.');
    expect(italian).toContain('Tra il 1 marzo 2026 alle ore 10:00 UTC e il 4 marzo 2026 alle ore 18:30 UTC.');
    expect(italian).toContain('dpo-eu@marketplace.example');
    expect(smtp.received.some((m) => m.to[0] === CANARY.email)).toBe(false);

    // Each address was opened by the broker for this incident, decided and recorded as dpo-1's export.
    const notifies = (await ledger()).filter((e) => e.operation === 'notify');
    expect(notifies).toHaveLength(18);
    expect(notifies[0]).toMatchObject({ actor: 'dpo-1', action: 'export', decision: 'allow', fields: ['email'], channel: 'cli', details: { incident: id } });
    expect(new Set(notifies.map((e) => e.target?.id))).toEqual(new Set(range(0, 18).map((n) => customer(n).id)));

    // Sending moved the incident on from assessing to notifying: on its timeline, with the
    // ledger index of the recorded decision to send, and what was queued and sent.
    const view = await show(id);
    expect(view.state).toBe('notifying');
    const sending = view.timeline.find((t: { kind: string; detail: { to?: string } }) => t.kind === 'transition' && t.detail.to === 'notifying');
    expect(sending).toMatchObject({ actor: 'dpo-1', detail: { from: 'assessing', to: 'notifying' } });
    const decision = (await ledger())[sending.seq];
    expect(decision).toMatchObject({ actor: 'dpo-1', decision: 'allow', target: { type: 'incident', id }, details: { state: 'assessing' } });
    expect(view.timeline.filter((t: { kind: string }) => t.kind === 'notices_queued').map((t: { detail: unknown }) => t.detail)).toEqual([
      expect.objectContaining({ queued: 18, already: 0, skipped_canary: 1 }), expect.objectContaining({ queued: 0, already: 18 }),
    ]);
    expect(view.timeline.find((t: { kind: string }) => t.kind === 'notices_sent')).toMatchObject({ seq: sending.seq, detail: { sent: 18, failed: 0, bounced: 0 } });

    // Sending again sends nothing: every notice is sent.
    const again = await ok(['notify', 'send', '--incident', id, '--smtp', smtp.url, '--as', 'dpo-1']);
    expect(JSON.parse(again.stdout)).toMatchObject({ sent: 0 });
    expect(smtp.received).toHaveLength(18);
    expect((await status(id)).counts.sent).toEqual({ total: 18, pending: 0 });
  }, SLOW);

  it('prints one notice as the full message, its recipient address left in the vault', async () => {
    const res = await ok(['notify', 'render', '--incident', INC1, '--customer', customer(2).id]);
    const parsed = await simpleParser(res.stdout);
    expect(parsed.messageId).toBe(noticeMessageId(INC1, customer(2).id, DOMAIN));
    expect(parsed.headers.get('content-language')).toBe('ja');
    expect(parsed.text).toContain('メールアドレス');
    expect(res.stdout).not.toContain(customer(2).email);
    const missing = await custosCli(['notify', 'render', '--incident', INC1, '--customer', 'c-canary', ...flags]);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('no notice queued for customer "c-canary"');
    // A customer the incident did not affect: refused, and the refusal recorded.
    const other = await custosCli(['notify', 'render', '--incident', INC1, '--customer', customer(40).id, '--as', 'dpo-1', ...flags]);
    expect(other.code, other.stderr).toBe(5);
    expect(other.stderr).toContain(`customer "${customer(40).id}" is not among incident "${INC1}"'s affected customers`);
    expect((await ledger()).at(-1)).toMatchObject({ actor: 'dpo-1', decision: 'deny', reason: 'not_found', target: { type: 'incident', id: INC1 }, details: { customer: customer(40).id } });
  }, SLOW);

  it('records the bounces that delivery reports (RFC 3464) tell of, matched by Message-ID, once', async () => {
    const idOf = (n: number) => noticeMessageId(INC1, customer(n).id, DOMAIN);
    const mbox = file('bounces.mbox', [
      `From MAILER-DAEMON Mon Nov 30 03:00:00 2026\n${postfixDsn(idOf(3))}\n`,
      `From postmaster@relay.example.org Mon Nov 30 03:01:00 2026\n${rfc822Dsn(idOf(4))}\n`,
      `From MAILER-DAEMON Mon Nov 30 03:02:00 2026\n${postfixDsn(idOf(5), '4.4.1', 'delayed')}\n`,
      `From MAILER-DAEMON Mon Nov 30 03:03:00 2026\n${postfixDsn('<not-ours@elsewhere.example>')}\n`,
      'From someone@example.org Mon Nov 30 03:04:00 2026\nFrom: someone@example.org\nSubject: out of office\n\nAway.\n',
    ].join(''));
    // Someone who may not handle notices records nothing.
    const refused = await custosCli(['notify', 'bounces', '--file', mbox, '--as', 'agent-1', ...flags]);
    expect(refused.code, refused.stderr).toBe(4);
    expect((await status(INC1)).counts.bounced.total).toBe(0);

    const res = await ok(['notify', 'bounces', '--file', mbox, '--as', 'dpo-1']);
    expect(JSON.parse(res.stdout)).toEqual({ reports: 4, bounced: 2, already: 0, unmatched: 1, ignored: 1, incidents: [INC1], unreadable: 1 });
    expect(res.stderr).toContain(`${mbox} message 5: skipped: not a delivery status notification`);
    const after = await status(INC1);
    expect(after.counts).toMatchObject({ sent: { total: 16, pending: 0 }, bounced: { total: 2, pending: 0 } });
    expect(after.failures).toEqual([
      { customer: customer(3).id, state: 'bounced', attempts: 1, lastError: 'dsn 5.1.1: smtp; 550 5.1.1 <address>: Recipient address rejected: User unknown in virtual mailbox table', retryAt: null },
      { customer: customer(4).id, state: 'bounced', attempts: 1, lastError: 'dsn 5.2.2: smtp; 552 5.2.2 Mailbox full', retryAt: null },
    ]);
    // On the incident's timeline, beside the recorded decision.
    const entry = (await show(INC1)).timeline.find((t: { kind: string }) => t.kind === 'notices_bounced');
    expect(entry).toMatchObject({ actor: 'dpo-1', detail: { reports: 2, bounced: 2, already: 0 } });
    expect((await ledger())[entry.seq]).toMatchObject({ actor: 'dpo-1', decision: 'allow', target: { type: 'incident', id: INC1 }, details: { reports: 2 } });
    // Reports read twice bounce nothing twice; a bounced notice is not sent again.
    expect(JSON.parse((await ok(['notify', 'bounces', '--file', mbox, '--as', 'dpo-1'])).stdout)).toMatchObject({ bounced: 0, already: 2 });
    const smtp = await sink();
    expect(JSON.parse((await ok(['notify', 'send', '--incident', INC1, '--smtp', smtp.url, '--as', 'dpo-1'])).stdout)).toMatchObject({ sent: 0 });
    expect(smtp.received).toHaveLength(0);
  }, SLOW);

  it('queues the notices of an incident in the store, from its affected customers', async () => {
    const exposed = join(dir, 'exposed.txt');
    writeFileSync(exposed, `${customer(56).id}\n${customer(57).id}\n${UK_HELD.id}\n`);
    const opened = await ok(['incident', 'open', '--customers', exposed, '--fields', 'email,phone', '--from', '2026-05-01T00:00:00Z', '--to', '2026-05-02T00:00:00Z', '--title', 'Profile page bug', '--as', 'dpo-1']);
    const id = opened.stdout.trim().split('\n').pop()!;
    const queue = ['notify', 'queue', '--incident', id, '--recipient', 'public', '--action', 'exposure-fixed', '--authority', 'IE:Data Protection Commission', '--as', 'dpo-1'];
    // An open incident is not yet assessed: nothing is queued, and the refusal is recorded.
    const early = await custosCli([...queue, ...flags]);
    expect(early.code, early.stderr).toBe(6);
    expect(early.stderr).toContain(`incident "${id}" is open; its notices may be queued when it is assessing or notifying`);
    expect((await ledger()).at(-1)).toMatchObject({ actor: 'dpo-1', decision: 'deny', reason: 'conflict', target: { type: 'incident', id } });
    await ok(['incident', 'transition', id, '--to', 'assessing', '--as', 'dpo-1']);
    expect(JSON.parse((await ok(queue)).stdout)).toMatchObject({ incident: id, queued: 3, already: 0 });
    // The entity on the customer's record speaks (a clear attribute), not the one of their country.
    const held = await simpleParser((await ok(['notify', 'render', '--incident', id, '--customer', UK_HELD.id])).stdout);
    expect(held.from?.value[0]?.name).toBe('Example Marketplace UK Ltd');
    expect(held.headers.get('content-language')).toBe('it');
    // customer(56) is Japanese: an accident, seen by anyone, both fields, the fix, no authority of theirs informed.
    const parsed = await simpleParser((await ok(['notify', 'render', '--incident', id, '--customer', customer(56).id])).stdout);
    expect(parsed.headers.get('content-language')).toBe('ja');
    expect(parsed.text).toContain('インターネット上の不特定の人');
    expect(parsed.text).toContain('漏えいした情報（2件）：メールアドレス、電話番号。');
    expect(parsed.text).toContain('不具合を修正し');
    expect(parsed.text).toContain('監督機関には報告していません');
    expect(parsed.subject).toContain(id);
    // While it is assessed, sending is not yet open: no address is opened until it is notifying.
    expect((await show(id)).state).toBe('assessing');
  }, SLOW);

  it('sends nothing for someone Cedar does not let send notices, and records the denial', async () => {
    const { id } = await queued([20, 21]);
    const smtp = await sink();
    // An agent has no right to an incident's notices; a security analyst runs incidents but does not tell customers.
    for (const who of ['agent-1', 'sec-1']) {
      const res = await custosCli(['notify', 'send', '--incident', id, '--smtp', smtp.url, '--as', who, ...flags]);
      expect(res.code, res.stderr).toBe(4);
      expect((await ledger()).at(-1)).toMatchObject({ actor: who, decision: 'deny', reason: 'not_permitted', target: { type: 'incident', id } });
    }
    expect(smtp.received).toHaveLength(0);
    expect((await ledger()).filter((e) => e.operation === 'notify' && e.details?.incident === id)).toEqual([]);
    // The notices wait, untried, for someone who may send them; the incident is still being assessed.
    expect((await status(id)).counts.queued).toEqual({ total: 2, pending: 2 });
    expect((await show(id)).state).toBe('assessing');
  }, SLOW);

  it('has no notices for an incident that is not in the store, nor sends any for one that is not at that point', async () => {
    const smtp = await sink();
    // A made-up incident: nothing to queue, send or render, and each refusal is recorded.
    for (const args of [['queue', ...FACTS], ['send', '--smtp', smtp.url], ['render', '--customer', customer(1).id], ['status']]) {
      const res = await custosCli(['notify', args[0]!, '--incident', 'inc-20260101-deadbeef', ...args.slice(1), '--as', 'dpo-1', ...flags]);
      expect(res.code, `${args[0]}: ${res.stderr}`).toBe(5);
      expect(res.stderr).toContain('no incident "inc-20260101-deadbeef"');
      expect((await ledger()).at(-1), args[0]).toMatchObject({ actor: 'dpo-1', decision: 'deny', reason: 'not_found', target: { type: 'incident', id: 'inc-20260101-deadbeef' } });
    }
    // A closed incident sends nothing more.
    const { id } = await queued([19]);
    await ok(['incident', 'transition', id, '--to', 'closed', '--as', 'dpo-1']);
    const closed = await custosCli(['notify', 'send', '--incident', id, '--smtp', smtp.url, '--as', 'dpo-1', ...flags]);
    expect(closed.code, closed.stderr).toBe(6);
    expect(closed.stderr).toContain(`incident "${id}" is closed; its notices may be sent when it is assessing or notifying`);
    expect(smtp.received).toHaveLength(0);
  }, SLOW);

  it('retries after a 4xx reply with backoff until the server accepts; a 5xx is a bounce, never tried again', async () => {
    const { id: inc3 } = await queued(range(22, 28));
    const refused = new Map([[customer(22).email, [451, 451]], [customer(23).email, [550]]]);
    const smtp = await sink({
      refuse: (address, attempt) => {
        const code = refused.get(address)?.[attempt - 1];
        return code ? { code, message: code >= 500 ? 'mailbox unavailable' : 'try again later' } : undefined;
      },
    });
    const res = await ok(['notify', 'send', '--incident', inc3, '--smtp', smtp.url, '--as', 'dpo-1', '--retry-after', '200']);
    expect(JSON.parse(res.stdout)).toMatchObject({ sent: 5, failed: 2, bounced: 1 });
    expect(smtp.received.map((m) => m.to[0]).sort()).toEqual([22, 24, 25, 26, 27].map((n) => customer(n).email).sort());
    expect(smtp.attempts.get(customer(22).email)).toBe(3);
    // Backoff: the second try at least --retry-after later, the third at least twice that.
    const [t1, t2, t3] = smtp.attemptTimes.get(customer(22).email)!;
    expect(t2! - t1!).toBeGreaterThanOrEqual(190);
    expect(t3! - t2!).toBeGreaterThanOrEqual(390);
    expect(smtp.attempts.get(customer(23).email)).toBe(1);
    const rows = (await ok(['notify', 'status', '--incident', inc3, '--list'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.find((r) => r.customer === customer(22).id)).toMatchObject({ state: 'sent', attempts: 3 });
    expect(rows.find((r) => r.customer === customer(23).id)).toMatchObject({ state: 'bounced', attempts: 1, dueMs: null });
    expect(rows.find((r) => r.customer === customer(24).id)).toMatchObject({ state: 'sent', attempts: 1 });
    // Sending again does not try the bounced one again.
    expect(JSON.parse((await ok(['notify', 'send', '--incident', inc3, '--smtp', smtp.url, '--as', 'dpo-1'])).stdout)).toMatchObject({ sent: 0, bounced: 0 });
    expect(smtp.attempts.get(customer(23).email)).toBe(1);
    expect((await status(inc3)).failures).toEqual([{ customer: customer(23).id, state: 'bounced', attempts: 1, lastError: '550: 550 mailbox unavailable', retryAt: null }]);

    // A server that keeps answering 4xx: given up after --max-attempts, the reply kept (without the address).
    const { id: inc4 } = await queued([29]);
    const never = await sink({ refuse: () => ({ code: 452, message: `mailbox full ${customer(29).email}` }) });
    const gaveUp = await ok(['notify', 'send', '--incident', inc4, '--smtp', never.url, '--as', 'dpo-1', '--retry-after', '20', '--max-attempts', '3']);
    expect(JSON.parse(gaveUp.stdout)).toMatchObject({ sent: 0, failed: 3, bounced: 0 });
    const [row] = (await ok(['notify', 'status', '--incident', inc4, '--list'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(row).toMatchObject({ state: 'failed', attempts: 3, dueMs: null });
    expect(row.lastError).toMatch(/^452: /);
    expect(row.lastError).not.toContain('@');
  }, SLOW);

  it('starts no more messages a second than --rate', async () => {
    const { id: inc5 } = await queued(range(30, 54));
    const smtp = await sink();
    await ok(['notify', 'send', '--incident', inc5, '--smtp', smtp.url, '--as', 'dpo-1', '--rate', '10']);
    // When each transaction began at the server (MAIL FROM): what the sender paces.
    const times = smtp.received.map((m) => m.startedAt).sort((a, b) => a - b);
    expect(times).toHaveLength(24);
    // 24 messages at 10 a second start over 2.3 s; unpaced they would all arrive within a few
    // hundred ms. (The first waits for its connection, so the span measured is a little shorter.)
    expect(times[23]! - times[0]!).toBeGreaterThanOrEqual(1_500);
    // No two-second window holds more than two seconds' worth (and a little): submissions are
    // spaced 100 ms apart, and the pool, while it opens its connections on a loaded machine, can
    // hold a few back and let them go together.
    for (let i = 0; i < times.length; i++) expect(times.filter((t) => t >= times[i]! && t < times[i]! + 2000).length).toBeLessThanOrEqual(22);
  }, SLOW);

  it('sends each notice once across a kill -9 of the sender: only messages in flight go again, with the same Message-ID', async () => {
    const { id: inc6 } = await queued(range(54, COUNT));
    const total = COUNT - 54;
    const smtp = await sink({ acceptDelayMs: 40 });
    const args = ['notify', 'send', '--incident', inc6, '--smtp', smtp.url, '--as', 'dpo-1', '--connections', '3', '--lease', '3000', '--retry-after', '200', ...flags];
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CUSTOS_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal === 'SIGKILL' ? -9 : _code)));
    await vi.waitFor(() => expect(smtp.received.length).toBeGreaterThanOrEqual(10), untilLoadedDeadline);
    child.kill('SIGKILL');
    expect(await exited).toBe(-9);
    const beforeRestart = smtp.received.length;
    expect(beforeRestart).toBeLessThan(total);
    // What was in flight at that instant: the rows still leased to the dead sender.
    const inFlight = new Set(
      (await ok(['notify', 'status', '--incident', inc6, '--list'])).stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.state === 'sending').map((r) => r.customer as string),
    );

    await ok(['notify', 'send', '--incident', inc6, '--smtp', smtp.url, '--as', 'dpo-1', '--lease', '3000', '--retry-after', '200']);
    const byCustomer = new Map<number, ReceivedMail[]>();
    for (const m of smtp.received) byCustomer.set(numberOf(m.to[0]!), [...(byCustomer.get(numberOf(m.to[0]!)) ?? []), m]);
    expect([...byCustomer.keys()].sort((a, b) => a - b)).toEqual(range(54, COUNT));
    const twice = [...byCustomer.entries()].filter(([, ms]) => ms.length > 1);
    // Only messages in flight when it was killed went twice (at most one per connection was
    // being transmitted)…
    for (const [n] of twice) expect(inFlight.has(customer(n).id), customer(n).id).toBe(true);
    expect(twice.length).toBeLessThanOrEqual(3);
    expect(smtp.received.length).toBe(total + twice.length);
    // …each with the same Message-ID as the first time.
    for (const [n, ms] of twice) {
      expect(ms.every((m) => m.parsed.messageId === noticeMessageId(inc6, customer(n).id, DOMAIN))).toBe(true);
    }
    expect((await status(inc6)).counts.sent).toEqual({ total, pending: 0 });
  }, SLOW);
});
