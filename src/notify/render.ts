/**
 * One customer's notice, in their language, from the entity that holds their account: what
 * happened, exactly which of their fields went (and which did not), when, to whom, what was
 * done, what to watch for, who was told, a reference and a contact. Plain text and HTML say
 * the same; the HTML has no images and no links, so nothing in it can track a reader.
 */
import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { NoticeCatalogs, MessageValues } from './catalog.ts';
import type { LegalEntity } from '../respond/entities.ts';
import { NOTICE_KINDS, type AffectedCustomer, type NoticeIncident, type NoticeRecipient } from './notice.ts';

export interface NoticeSettings {
  /** The domain of Message-IDs and of the From address (notices@<domain>). */
  domain: string;
}

/** A notice ready to send, all but its recipient's address (which only the broker opens). */
export interface RenderedNotice {
  incident: string;
  customer: string;
  locale: string;
  /** `<hex@domain>`: the same for the same (incident, customer), on every attempt. */
  messageId: string;
  from: { name: string; address: string };
  replyTo: string;
  subject: string;
  /** The body as paragraphs, headings and lists: the text and HTML parts are made from it (noticeText, noticeHtml). */
  blocks: NoticeBlock[];
}

export type NoticeBlock = { kind: 'p' | 'h'; text: string } | { kind: 'ul'; items: string[] };

/** Fields in the order a reader expects them; any other field follows, by name. */
const FIELD_ORDER = ['email', 'phone', 'name', 'address', 'birthDate', 'nationalId', 'iban'];
/** What each disclosed field invites (`watch.<field>`); fake sellers and the reassurance always follow. */
const WATCH_FOR_FIELD = ['email', 'phone', 'address'];

/** The Message-ID of (incident, customer): deterministic, so a resend is recognisably the same message. */
export function noticeMessageId(incident: string, customer: string, domain: string): string {
  return `<${createHash('sha256').update(`${incident}\n${customer}`).digest('hex').slice(0, 40)}@${domain}>`;
}

/** Formatted messages kept: most of a notice repeats across customers of one incident. */
const MEMO_SIZE = 20_000;

export class NoticeRenderer {
  private readonly dates = new Map<string, Intl.DateTimeFormat>();
  private readonly lists = new Map<string, Intl.ListFormat>();
  private readonly memo = new Map<string, string>();

  constructor(
    private readonly catalogs: NoticeCatalogs,
    private readonly settings: NoticeSettings,
  ) {}

  render(incident: NoticeIncident, affected: AffectedCustomer, recipient: NoticeRecipient, entity: LegalEntity): RenderedNotice {
    const locale = this.catalogs.localeFor(recipient.locale, recipient.country);
    const t = (key: string, values?: MessageValues) => this.format(locale, key, values);
    const disclosed = orderFields(affected.fields);
    const others = orderFields(recipient.fields.filter((f) => !affected.fields.includes(f)));
    const fieldList = (fields: string[]) => this.list(locale, fields.map((f) => this.fieldLabel(locale, f)));
    const kind = (NOTICE_KINDS as readonly string[]).includes(incident.kind) ? incident.kind : 'other';
    const authorities = incident.authorities
      .filter((a) => a.jurisdiction === undefined || a.jurisdiction === recipient.country || a.jurisdiction === recipient.region || a.name === entity.leadAuthority.name)
      .map((a) => a.name);
    const watch = [
      ...WATCH_FOR_FIELD.filter((f) => disclosed.includes(f)).map((f) => t(`watch.${f}`)),
      t('watch.seller'),
      t('watch.nothingElse'),
    ];

    const blocks: NoticeBlock[] = [
      { kind: 'p', text: t('greeting') },
      { kind: 'p', text: t('intro', { entity: entity.name }) },
      { kind: 'p', text: t(`happened.${kind}`, { recipient: t(`recipient.${incident.recipient}`) }) },
      { kind: 'h', text: t('heading.what') },
      { kind: 'p', text: t('disclosed', { count: disclosed.length, fields: fieldList(disclosed) }) },
      { kind: 'p', text: others.length > 0 ? t('notDisclosed', { fields: fieldList(others) }) : t('noOtherData') },
      { kind: 'h', text: t('heading.when') },
      {
        kind: 'p',
        text: affected.first === affected.last
          // Times differ from customer to customer: formatted each time, not remembered.
          ? this.catalogs.format(locale, 'when.once', { first: this.date(locale, affected.first) })
          : this.catalogs.format(locale, 'when.range', { first: this.date(locale, affected.first), last: this.date(locale, affected.last) }),
      },
      ...(incident.actions.length > 0 ? [{ kind: 'h' as const, text: t('heading.done') }, { kind: 'ul' as const, items: incident.actions.map((a) => t(`action.${a}`)) }] : []),
      { kind: 'h', text: t('heading.watch') },
      { kind: 'ul', items: watch },
      { kind: 'h', text: t('heading.authority') },
      { kind: 'p', text: authorities.length > 0 ? t('authority.informed', { authorities: this.list(locale, authorities) }) : t('authority.none') },
      { kind: 'p', text: t('authority.complaint', { authority: entity.leadAuthority.name }) },
      { kind: 'h', text: t('heading.contact') },
      { kind: 'p', text: t('reference', { reference: incident.reference }) },
      { kind: 'p', text: t('contact', { dpo: [entity.dpo.name, entity.dpo.email, entity.dpo.phone].filter(Boolean).join(', '), entity: entity.name, address: entity.address }) },
      { kind: 'p', text: t('apology') },
      { kind: 'p', text: t('signature', { entity: entity.name }) },
    ];
    const subject = t('subject', { fields: fieldList(disclosed), count: disclosed.length, reference: incident.reference, entity: entity.name });
    return {
      incident: incident.id,
      customer: recipient.id,
      locale,
      messageId: noticeMessageId(incident.id, recipient.id, this.settings.domain),
      from: { name: entity.name, address: `notices@${this.settings.domain}` },
      // Answers go to the entity's data protection officer, not to an unattended sender.
      replyTo: entity.dpo.email,
      subject,
      blocks,
    };
  }

  /** A catalog message, remembered by its locale, key and values (bounded: cleared when full). */
  private format(locale: string, key: string, values?: MessageValues): string {
    // Each call site passes its values in one fixed order, so the values alone make the key.
    let k = `${locale}\0${key}`;
    if (values) for (const v of Object.values(values)) k += `\0${v}`;
    let text = this.memo.get(k);
    if (text === undefined) {
      text = this.catalogs.format(locale, key, values);
      if (this.memo.size >= MEMO_SIZE) this.memo.clear();
      this.memo.set(k, text);
    }
    return text;
  }

  private fieldLabel(locale: string, field: string): string {
    const key = `field.${field}`;
    return this.catalogs.has(locale, key) || this.catalogs.has('en', key) ? this.format(locale, key) : this.format(locale, 'field.other', { field });
  }

  private list(locale: string, items: string[]): string {
    let f = this.lists.get(locale);
    if (!f) this.lists.set(locale, (f = new Intl.ListFormat(locale, { type: 'conjunction', style: 'long' })));
    return f.format(items);
  }

  /** In the customer's locale's long form, in UTC and saying so: their time zone is not known. */
  private date(locale: string, iso: string): string {
    let f = this.dates.get(locale);
    if (!f) {
      f = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' });
      this.dates.set(locale, f);
    }
    return f.format(new Date(iso));
  }
}

function orderFields(fields: readonly string[]): string[] {
  const rank = (f: string) => {
    const i = FIELD_ORDER.indexOf(f);
    return i < 0 ? FIELD_ORDER.length : i;
  };
  return [...new Set(fields)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The plain-text part. */
export function noticeText(notice: Pick<RenderedNotice, 'blocks'>): string {
  return `${notice.blocks.map((b) => (b.kind === 'ul' ? b.items.map((i) => `- ${i}`).join('\n') : b.kind === 'h' ? `${b.text}\n${'-'.repeat(Math.min(b.text.length, 40))}` : b.text)).join('\n\n')}\n`;
}

/** The HTML part: the same words, escaped; no image, link or style sheet to fetch. */
export function noticeHtml(notice: Pick<RenderedNotice, 'blocks' | 'locale' | 'subject'>): string {
  const { locale, subject } = notice;
  const body = notice.blocks
    .map((b) => (b.kind === 'ul' ? `<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>` : b.kind === 'h' ? `<h2 style="font-size:1.1em">${escapeHtml(b.text)}</h2>` : `<p>${escapeHtml(b.text)}</p>`))
    .join('\n');
  return `<!DOCTYPE html>\n<html lang="${escapeHtml(locale)}">\n<head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>\n<body style="font-family:sans-serif;line-height:1.5;max-width:40em">\n${body}\n</body>\n</html>\n`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** The mail options for nodemailer: the notice, its recipient, and the headers every notice carries. */
export function mailOptionsOf(notice: RenderedNotice, to: string | undefined, date: Date) {
  return {
    from: notice.from,
    // A preview names no address: the address is opened by the broker, at send time only.
    to: to ?? 'undisclosed-recipients:;',
    subject: notice.subject,
    text: noticeText(notice),
    html: noticeHtml(notice),
    messageId: notice.messageId,
    date,
    replyTo: notice.replyTo,
    headers: {
      'Content-Language': notice.locale,
      // RFC 3834: no auto-replies to a notice.
      'Auto-Submitted': 'auto-generated',
    },
    // Nothing in a notice is fetched from a file or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** The complete RFC 5322 message (MIME built by nodemailer's MailComposer). */
export function composeNotice(notice: RenderedNotice, to: string | undefined, date: Date): Promise<Buffer> {
  const composer = new MailComposer(mailOptionsOf(notice, to, date));
  return new Promise((resolve, reject) => composer.compile().build((err, message) => (err ? reject(err) : resolve(message))));
}
