import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidInputError } from '../errors.ts';
import { DEFAULT_CATALOG_DIR, NoticeCatalogs } from './catalog.ts';
import type { LegalEntity } from '../respond/entities.ts';
import type { NoticeIncident, NoticeRecipient } from './notice.ts';
import { composeNotice, noticeHtml, noticeMessageId, NoticeRenderer, noticeText } from './render.ts';
import { demoCustomer, DEMO_CUSTOMERS } from '../simulate/demo-org.ts';

const catalogs = new NoticeCatalogs();
const renderer = new NoticeRenderer(catalogs, { domain: 'notices.example.com' });
const incident: NoticeIncident = {
  id: 'INC-7',
  kind: 'insider-disclosure',
  recipient: 'third-party',
  actions: ['access-revoked', 'law-enforcement'],
  authorities: [{ name: 'Garante privacy', jurisdiction: 'IT' }, { name: 'ICO', jurisdiction: 'GB' }],
  reference: 'REF-2026-7',
};
const entity: LegalEntity = {
  id: 'eu', name: 'Mercato Europe S.à r.l.', country: 'LU', address: '5 rue Plaetis, Luxembourg',
  dpo: { name: 'DPO Mercato', email: 'dpo@mercato.example' }, leadAuthority: { jurisdiction: 'LU', name: 'CNPD' },
};
const recipient = (locale: string | null, country = 'IT'): NoticeRecipient => ({ id: 'cust-1', country, region: null, locale, fields: ['email', 'phone', 'name', 'address'] });
const affected = { customer: 'cust-1', fields: ['email'], first: '2026-03-01T10:00:00.000Z', last: '2026-03-04T18:30:00.000Z' };

describe('notice catalogs', () => {
  it('have every English message in every locale, each valid ICU', () => {
    const keys = catalogs.keys();
    expect(catalogs.locales()).toEqual(expect.arrayContaining(['de', 'en', 'es', 'fr', 'id', 'it', 'ja', 'pt-BR']));
    for (const locale of catalogs.locales()) {
      expect(keys.filter((k) => !catalogs.has(locale, k)), locale).toEqual([]);
      expect(catalogs.keys(locale).filter((k) => !keys.includes(k)), locale).toEqual([]);
    }
  });

  it('fall back from a regional locale to its language, to a regional catalog of the language, then to English', () => {
    expect(catalogs.localeFor('it-IT', 'IT')).toBe('it');
    expect(catalogs.localeFor('fr-CA', 'CA')).toBe('fr');
    expect(catalogs.localeFor('pt', 'PT')).toBe('pt-BR');
    expect(catalogs.localeFor('pt-PT', 'PT')).toBe('pt-BR');
    expect(catalogs.localeFor('pt-BR', 'BR')).toBe('pt-BR');
    expect(catalogs.localeFor('nl-NL', 'NL')).toBe('en');
    expect(catalogs.localeFor('not a locale!', 'NL')).toBe('en');
    // No locale on record: the country's language.
    expect(catalogs.localeFor(null, 'ID')).toBe('id');
    expect(catalogs.localeFor(null, 'BR')).toBe('pt-BR');
    expect(catalogs.localeFor(null, 'GB')).toBe('en');
  });

  it('refuse a catalog directory without English, and a message that is not ICU, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-catalogs-'));
    try {
      writeFileSync(join(dir, 'fr.json'), readFileSync(join(DEFAULT_CATALOG_DIR, 'fr.json')));
      expect(() => new NoticeCatalogs(dir)).toThrow(/no en\.json/);
      writeFileSync(join(dir, 'en.json'), JSON.stringify({ subject: 'Hello {name' }));
      expect(() => new NoticeCatalogs(dir)).toThrow(ConfigError);
      expect(() => new NoticeCatalogs(dir)).toThrow(/en\.json: message "subject"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a rendered notice', () => {
  it('names the disclosed fields and, apart, those that were not, in the customer\'s language', () => {
    const it_ = renderer.render(incident, { ...affected, fields: ['phone', 'email'] }, recipient('it-IT'), entity);
    expect(it_.locale).toBe('it');
    expect(noticeText(it_)).toContain('Dati divulgati (2 elementi): il tuo indirizzo e-mail e il tuo numero di telefono.');
    expect(noticeText(it_)).toContain('Non divulgato: il tuo nome e il tuo indirizzo postale.');
    expect(noticeText(it_)).toContain('Tra il 1 marzo 2026 alle ore 10:00 UTC e il 4 marzo 2026 alle ore 18:30 UTC.');
    // The authority of the customer's country, not every one informed; and where to complain.
    expect(noticeText(it_)).toContain('Abbiamo informato Garante privacy.');
    expect(noticeText(it_)).not.toContain('ICO');
    expect(noticeText(it_)).toContain('CNPD');
    expect(noticeText(it_)).toContain('REF-2026-7');
    expect(noticeText(it_)).toContain('forze dell\'ordine');

    const en = renderer.render(incident, affected, recipient('en-GB', 'GB'), entity);
    expect(noticeText(en)).toContain('One item of your data was disclosed: your e-mail address.');
    expect(noticeText(en)).toContain('Not disclosed: your phone number, your name, and your postal address.');
    expect(noticeText(en)).toContain('We have informed ICO.');
    expect(noticeText(en)).toContain('E-mails that quote your e-mail address');
    // The phone was not disclosed: no warning about calls.
    expect(noticeText(en)).not.toContain('text messages');
    expect(en.subject).toBe('Notice about your personal data: your e-mail address disclosed (ref. REF-2026-7)');

    const ja = renderer.render(incident, { ...affected, fields: ['email', 'phone'] }, recipient('ja-JP', 'JP'), entity);
    expect(noticeText(ja)).toContain('漏えいした情報（2件）：メールアドレス、電話番号。');
    expect(noticeText(ja)).toContain('監督機関には報告していません');
  });

  it('says so when nothing else is held, names an unknown field by its name, and tells an exposure as an exposure', () => {
    const n = renderer.render(
      { ...incident, kind: 'accidental-exposure', recipient: 'public', actions: ['exposure-fixed'], authorities: [] },
      { ...affected, fields: ['email', 'loyaltyTier'], first: affected.first, last: affected.first },
      { ...recipient('fr-FR', 'FR'), fields: ['email', 'loyaltyTier'] },
      entity,
    );
    expect(noticeText(n)).toContain('votre adresse e-mail et votre donnée « loyaltyTier »');
    expect(noticeText(n)).toContain('Nous ne détenons aucune autre donnée personnelle vous concernant.');
    expect(noticeText(n)).toContain('n\'importe qui sur internet');
    expect(noticeText(n)).toContain('Le 1 mars 2026');
    expect(noticeText(n)).toContain('Nous n\'avons pas informé d\'autorité');
  });

  it('has a Message-ID that depends on the incident and the customer alone', () => {
    const a = renderer.render(incident, affected, recipient('de'), entity);
    const b = renderer.render(incident, { ...affected, fields: ['phone'] }, recipient('es'), { ...entity, name: 'Other' });
    expect(a.messageId).toBe(b.messageId);
    expect(a.messageId).toBe(noticeMessageId('INC-7', 'cust-1', 'notices.example.com'));
    expect(a.messageId).toMatch(/^<[0-9a-f]{40}@notices\.example\.com>$/);
    expect(noticeMessageId('INC-8', 'cust-1', 'notices.example.com')).not.toBe(a.messageId);
  });

  it('escapes what it puts in HTML, and holds no image, link or remote resource', () => {
    const n = renderer.render(incident, affected, recipient('en'), { ...entity, name: 'A & B <Ltd>' });
    expect(noticeHtml(n)).toContain('A &amp; B &lt;Ltd&gt;');
    expect(noticeHtml(n)).not.toMatch(/<img|<a\s|href=|src=|url\(/i);
  });

  it('is a MIME message with an encoded non-ASCII subject and From, both parts, and the notice headers', async () => {
    const n = renderer.render(incident, affected, recipient('ja', 'JP'), { ...entity, name: 'マーケット株式会社' });
    const raw = (await composeNotice(n, 'taro@example.jp', new Date('2026-03-05T00:00:00Z'))).toString('utf8');
    const headerBlock = raw.slice(0, raw.indexOf('\r\n\r\n'));
    // RFC 5322 headers are ASCII; non-ASCII goes as RFC 2047 encoded words.
    expect(headerBlock).toMatch(/^[\x00-\x7f]*$/);
    expect(headerBlock).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/m);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe(n.subject);
    expect(parsed.from?.value[0]).toEqual({ name: 'マーケット株式会社', address: 'notices@notices.example.com' });
    expect(parsed.messageId).toBe(n.messageId);
    expect(parsed.headers.get('content-language')).toBe('ja');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(parsed.text).toContain('メールアドレス');
    expect(parsed.html).toContain('メールアドレス');
    expect(parsed.replyTo?.value[0]?.address).toBe('dpo@mercato.example');
  });
});

describe("the README's notify commands", () => {
  it('name customers of the demo organisation, so they work on `npm start`\'s data', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const isDemo = (id: string) => {
      const n = Number(/^cus-(\d+)$/.exec(id)?.[1] ?? NaN);
      return n < DEMO_CUSTOMERS && demoCustomer(n).id === id;
    };
    const named = [...readme.matchAll(/custos notify render [^\n]*--customer (\S+)/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(0);
    for (const id of named) expect(isDemo(id), id).toBe(true);
  });
});
