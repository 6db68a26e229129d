/**
 * Sending an incident's notices from the outbox, exactly once per customer: a row is taken
 * (leased) before the SMTP transaction starts and marked sent as soon as the server answers
 * 250, so a sender killed at any instant leaves only the messages it had in flight to go again,
 * with the same Message-ID, once their lease ends. Paced to `rate` messages a second. A 4xx
 * answer, a timeout or a lost connection (`failed`) is temporary: retried with exponential
 * backoff until `maxAttempts`, then given up. A 5xx answer (`bounced`) is permanent (RFC 5321
 * §4.2.1): never tried again. Each error is kept on its row.
 */
import type { NoticeOutbox, ClaimedNotice, OutboxCounts } from '../store/notice-outbox.ts';
import { unpackNotice } from './queue.ts';
import { mailOptionsOf } from './render.ts';

/** What the sender needs of nodemailer's transport (a pooled SMTP transport in production). */
export interface MailTransport {
  sendMail(options: ReturnType<typeof mailOptionsOf>): Promise<unknown>;
}

export interface RetryPolicy {
  /** First retry after this long; doubled for each further attempt… */
  baseMs: number;
  /** …up to this. */
  maxMs: number;
  /** Attempts before a notice is given up. */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 30_000, maxMs: 3_600_000, maxAttempts: 8 };

export interface SendProgress {
  sent: number;
  failed: number;
  bounced: number;
  /** Customers with no address to write to (deleted since, or no e-mail held). */
  unreachable: number;
  /** Messages started by this sender. */
  attempted: number;
  elapsedMs: number;
}

export interface SendDeps {
  outbox: NoticeOutbox;
  transport: MailTransport;
  /** The recipient's address, opened by the broker (recorded), or undefined if there is none. */
  addressFor(incident: string, customer: string): Promise<string | undefined>;
  /** Who holds the leases this sender takes (unique per running sender). */
  owner: string;
  nowMs: () => number;
  /**
   * Messages in flight at once: a few per pooled SMTP connection, so that the next messages'
   * addresses are opened (and their ledger records written, together) while others are sent.
   */
  concurrency: number;
  /** At most this many messages handed to the SMTP transport per second; unlimited when absent. */
  rate?: number;
  /** How long a taken row stays this sender's; longer than any one SMTP transaction can take. */
  leaseMs: number;
  retry: RetryPolicy;
  /** Wait for retries that fall due later (true), or stop when nothing is due now. */
  waitForRetries: boolean;
  onProgress?: (p: SendProgress) => void;
  /** Nothing is due now: the sender waits until `untilMs` for retries or other senders' leases. */
  onWait?: (untilMs: number, counts: OutboxCounts) => void;
  /** Stop taking rows (SIGINT, SIGTERM); what is in flight finishes and is recorded. */
  signal?: AbortSignal;
  /** Tests and benchmarks: sleeping without the wall clock. */
  sleep?: (ms: number) => Promise<void>;
}

export interface SendSummary extends SendProgress {
  /** The outbox's counts for the incident once the sender stopped. */
  outbox: OutboxCounts;
}

/** Retry delay after the `attempts`-th failed attempt. */
export function backoffMs(retry: RetryPolicy, attempts: number): number {
  return Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, attempts - 1));
}

/** An SMTP error's class: a 5xx answer is a bounce (permanent); a 4xx, a timeout or a lost connection, a failure (temporary). */
export function failureOf(err: unknown): { state: 'failed' | 'bounced'; error: string } {
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
  const state = typeof e.responseCode === 'number' && e.responseCode >= 500 ? 'bounced' : 'failed';
  return { state, error: `${e.responseCode ?? e.code ?? 'error'}: ${withoutAddresses(e.response ?? e.message ?? String(err))}` };
}

/** A server's words, never the address: SMTP replies and bounce reports quote it. Cut to 300 characters. */
export function withoutAddresses(text: string): string {
  return text.replace(/<[^>]*@[^>]*>/g, '<address>').replace(/\S+@\S+/g, 'address').slice(0, 300);
}

/**
 * Spaces message submissions 1/rate s apart, in the order they ask. Paced where the message is
 * handed to the SMTP transport, not where its row is taken: a stall between the two (the
 * broker, the pool) would otherwise let messages go out in a burst.
 */
class Pacer {
  private next = 0;

  constructor(
    private readonly rate: number,
    private readonly nowMs: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  async slot(): Promise<void> {
    const now = this.nowMs();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.rate;
    if (at > now) await this.sleep(at - now);
  }
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function sendNotices(incident: string, deps: SendDeps): Promise<SendSummary> {
  const sleep = deps.sleep ?? realSleep;
  const started = deps.nowMs();
  const progress: SendProgress = { sent: 0, failed: 0, bounced: 0, unreachable: 0, attempted: 0, elapsedMs: 0 };
  const report = () => deps.onProgress?.({ ...progress, elapsedMs: deps.nowMs() - started });
  const pacer = deps.rate ? new Pacer(deps.rate, deps.nowMs, sleep) : undefined;
  const inFlight = new Set<Promise<void>>();
  // Paced, no more messages in hand than a fifth of a second's worth: messages handed to the
  // transport while its connections stall (opening, on a loaded machine) all go when it
  // recovers, so what is in hand bounds the burst past the rate.
  const inFlightLimit = deps.rate ? Math.max(1, Math.min(deps.concurrency, Math.ceil(deps.rate / 5))) : deps.concurrency;
  const minTake = Math.max(1, Math.floor(inFlightLimit / 4));
  // Sent marks are written together, right after the server's answers: as soon as the event
  // loop is free, so the window in which a kill could resend them stays a few milliseconds.
  let sentPending: string[] = [];
  let flushing: Promise<void> | undefined;
  let flushError: unknown;
  const flushSent = async () => {
    while (sentPending.length > 0) {
      const batch = sentPending;
      sentPending = [];
      await deps.outbox.markSent(incident, batch, deps.owner, deps.nowMs());
    }
  };
  const scheduleFlush = (): void => {
    flushing ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(flushSent)
      .catch((err: unknown) => void (flushError ??= err))
      .finally(() => {
        flushing = undefined;
        if (sentPending.length > 0) scheduleFlush();
      });
  };
  const noteSent = (customer: string) => {
    sentPending.push(customer);
    scheduleFlush();
  };

  // A refusal to open an address (Cedar's deny, a ledger that cannot record) is not the
  // message's failure: the row goes back untried and the whole run stops with that error.
  let fatal: unknown;
  const sendOne = async (row: ClaimedNotice): Promise<void> => {
    let to: string | undefined;
    try {
      to = await deps.addressFor(incident, row.customer);
    } catch (err) {
      fatal ??= err;
      await deps.outbox.release(incident, row.customer, deps.owner, deps.nowMs());
      return;
    }
    try {
      if (to === undefined) {
        progress.unreachable++;
        await deps.outbox.markFailed(incident, row.customer, deps.owner, 'failed', 'no e-mail address held for this customer', null, deps.nowMs());
        return;
      }
      const notice = unpackNotice(row.content, { incident, customer: row.customer, messageId: row.messageId });
      await pacer?.slot();
      await deps.transport.sendMail(mailOptionsOf(notice, to, new Date(deps.nowMs())));
      progress.sent++;
      noteSent(row.customer);
    } catch (err) {
      const { state, error } = failureOf(err);
      progress[state]++;
      // A permanent rejection stays one: sending it again would only be rejected again (or pester a server into blocking us).
      const retryAt = state === 'failed' && row.attempts < deps.retry.maxAttempts ? deps.nowMs() + backoffMs(deps.retry, row.attempts) : null;
      await deps.outbox.markFailed(incident, row.customer, deps.owner, state, error, retryAt, deps.nowMs());
    } finally {
      report();
    }
  };

  const start = (row: ClaimedNotice) => {
    progress.attempted++;
    const p: Promise<void> = sendOne(row).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  for (;;) {
    if (deps.signal?.aborted || fatal) break;
    const free = inFlightLimit - inFlight.size;
    // Rows are taken a quarter of the window at a time: each take is a write transaction, and
    // one per message would cost as much as the message.
    if (free <= 0 || (free < minTake && inFlight.size > 0)) {
      await Promise.race(inFlight);
      continue;
    }
    const rows = await deps.outbox.claim(incident, deps.owner, free, deps.nowMs(), deps.leaseMs);
    if (rows.length > 0) {
      rows.forEach(start);
      continue;
    }
    if (inFlight.size > 0) {
      await Promise.race(inFlight);
      continue;
    }
    // Our own sent marks first: unwritten, they would look like rows leased to someone else.
    while (flushing) await flushing;
    const counts = await deps.outbox.counts(incident);
    // Rows still due later: retries, or rows leased to a sender that may have died.
    if (!deps.waitForRetries || counts.nextDueMs === null) break;
    deps.onWait?.(counts.nextDueMs, counts);
    await sleep(Math.max(1, counts.nextDueMs - deps.nowMs()));
  }
  await Promise.all(inFlight);
  while (flushing) await flushing;
  await flushSent();
  if (fatal) throw fatal;
  if (flushError) throw flushError;
  report();
  return { ...progress, elapsedMs: deps.nowMs() - started, outbox: await deps.outbox.counts(incident) };
}
