import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { parseDeliveryReport, readDeliveryReports } from './bounces.ts';
import { postfixDsn, rfc822Dsn } from '../../test/support/dsn.ts';

const crlf = (text: string) => Buffer.from(text.replace(/\r?\n/g, '\r\n'));

describe('delivery status notifications (RFC 3464)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'custos-dsn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the original Message-ID, the action, the status and the diagnostic without the address', async () => {
    expect(await parseDeliveryReport(crlf(postfixDsn('<abc123@notices.test.example>')))).toEqual({
      messageId: '<abc123@notices.test.example>',
      action: 'failed',
      status: '5.1.1',
      diagnostic: 'smtp; 550 5.1.1 <address>: Recipient address rejected: User unknown in virtual mailbox table',
    });
    expect(await parseDeliveryReport(Buffer.from(rfc822Dsn('<def456@notices.test.example>')))).toEqual({
      messageId: '<def456@notices.test.example>', action: 'failed', status: '5.2.2', diagnostic: 'smtp; 552 5.2.2 Mailbox full',
    });
    expect(await parseDeliveryReport(crlf(postfixDsn('<abc@n.example>', '4.4.1', 'delayed')))).toMatchObject({ action: 'delayed', status: '4.4.1' });
  });

  it('says why a message is not a report it can use', async () => {
    expect(await parseDeliveryReport(crlf('From: a@b.example\nSubject: hi\nMessage-ID: <x@y>\n\nhello\n'))).toMatch(/^not a delivery status notification/);
    const noOriginal = postfixDsn('<x@y>').replace(/Content-Type: text\/rfc822-headers[\s\S]*?(?=--4F2A1C0\.1796000000\/mx\.example\.net--)/, '');
    expect(await parseDeliveryReport(crlf(noOriginal))).toMatch(/no Message-ID in the original message/);
  });

  it('reads one message per file, or every message of an mbox, naming each by its number', async () => {
    const eml = join(dir, 'one.eml');
    writeFileSync(eml, crlf(postfixDsn('<one@n.example>')));
    expect(await readDeliveryReports(eml)).toEqual([{ at: eml, report: expect.objectContaining({ messageId: '<one@n.example>' }) }]);
    const mbox = join(dir, 'bounces.mbox');
    writeFileSync(mbox, [
      `From MAILER-DAEMON Mon Nov 30 03:00:00 2026\n${postfixDsn('<first@n.example>')}\n`,
      'From someone@example.org Mon Nov 30 03:01:00 2026\nFrom: someone@example.org\nSubject: out of office\n\n>From now on I am away.\n\n',
      `From postmaster@relay.example.org Mon Nov 30 03:02:00 2026\n${rfc822Dsn('<second@n.example>')}\n`,
    ].join(''));
    const read = await readDeliveryReports(mbox);
    expect(read.map((r) => [r.at, 'report' in r ? r.report.messageId : r.problem])).toEqual([
      [`${mbox} message 1`, '<first@n.example>'],
      [`${mbox} message 2`, expect.stringMatching(/^not a delivery status notification/)],
      [`${mbox} message 3`, '<second@n.example>'],
    ]);
    await expect(readDeliveryReports(join(dir, 'missing.eml'))).rejects.toBeInstanceOf(InvalidInputError);
  });
});
