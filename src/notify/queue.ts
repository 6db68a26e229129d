/**
 * Filling the outbox: every affected customer's notice rendered now and stored as it will be
 * sent, so retries and restarts send the very same words, and the outbox keeps what each
 * customer was told. Queuing twice adds nobody twice.
 */
import type { NoticeOutbox, QueuedNotice } from '../store/notice-outbox.ts';
import type { LegalEntity } from '../respond/entities.ts';
import type { AffectedCustomer, NoticeIncident, NoticeRecipient } from './notice.ts';
import type { NoticeRenderer, RenderedNotice } from './render.ts';

/** What the outbox holds of a rendered notice: everything but the keys it is stored under. */
type NoticeContent = Pick<RenderedNotice, 'locale' | 'from' | 'replyTo' | 'subject' | 'blocks'>;

/**
 * As UTF-8 JSON of the notice's words (its blocks; the text and HTML parts are made from them at
 * send time). Not compressed: a zlib stream per row cost more than rendering the notice.
 */
export function packNotice(n: RenderedNotice): Uint8Array {
  const content: NoticeContent = { locale: n.locale, from: n.from, replyTo: n.replyTo, subject: n.subject, blocks: n.blocks };
  return Buffer.from(JSON.stringify(content), 'utf8');
}

export function unpackNotice(bytes: Uint8Array, keys: { incident: string; customer: string; messageId: string }): RenderedNotice {
  const content = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as NoticeContent;
  return { ...keys, ...content };
}

/** A customer the outbox did not take, and why. */
export type SkipReason = 'unknown_customer' | 'canary' | 'no_email';

export interface QueueResult {
  /** Notices added to the outbox. */
  queued: number;
  /** Customers already in the outbox for this incident (left as they were). */
  already: number;
  skipped: Record<SkipReason, number>;
}

/** A stored customer's clear profile, or undefined if none. */
export type ProfileLookup = (id: string) => Promise<(NoticeRecipient & { canary: boolean }) | undefined>;

export interface QueueDeps {
  outbox: NoticeOutbox;
  renderer: NoticeRenderer;
  profileOf: ProfileLookup;
  entityFor: (recipient: NoticeRecipient) => LegalEntity;
  now: () => number;
}

const BATCH = 500;

/**
 * Render and queue the notices of `incident` for `customers` (any iterable, consumed in batches
 * of 500: memory stays bounded whatever their number). Canaries are bait, not people, and get
 * nothing; a customer with no e-mail address is skipped and counted (a letter is another channel).
 */
export async function queueNotices(incident: NoticeIncident, customers: Iterable<AffectedCustomer> | AsyncIterable<AffectedCustomer>, deps: QueueDeps): Promise<QueueResult> {
  const result: QueueResult = { queued: 0, already: 0, skipped: { unknown_customer: 0, canary: 0, no_email: 0 } };
  let batch: QueuedNotice[] = [];
  const flush = async () => {
    const added = await deps.outbox.enqueue(batch, deps.now());
    result.queued += added;
    result.already += batch.length - added;
    batch = [];
  };
  for await (const affected of customers) {
    const profile = await deps.profileOf(affected.customer);
    if (!profile) {
      result.skipped.unknown_customer++;
      continue;
    }
    if (profile.canary) {
      result.skipped.canary++;
      continue;
    }
    if (!profile.fields.includes('email')) {
      result.skipped.no_email++;
      continue;
    }
    const entity = deps.entityFor(profile);
    const rendered = deps.renderer.render(incident, affected, profile, entity);
    batch.push({ incident: incident.id, customer: affected.customer, messageId: rendered.messageId, locale: rendered.locale, entity: entity.id, content: packNotice(rendered) });
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return result;
}

/** A queued notice as it will be sent, or NotFound-style undefined. */
export async function queuedNotice(outbox: NoticeOutbox, incident: string, customer: string): Promise<RenderedNotice | undefined> {
  const row = await outbox.get(incident, customer);
  return row ? unpackNotice(row.content, { incident, customer, messageId: row.messageId }) : undefined;
}
