/**
 * `custos notify`: queue an incident's customer notices into the outbox, print one as it will
 * be sent, send them through SMTP, and show where they stand.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import nodemailer from 'nodemailer';
import { NoticeAddresses } from '../broker/notice-address.ts';
import { vaultForStore } from '../broker/key-ring-binding.ts';
import { clearSealedEntities } from '../broker/clear-entity.ts';
import { isDomainName, type CustosConfig } from '../config.ts';
import { ConfigError, InvalidInputError, NotFoundError } from '../errors.ts';
import { checkId } from '../model.ts';
import { NoticeCatalogs } from '../notify/catalog.ts';
import { readDeliveryReports, type DeliveryReport } from '../notify/bounces.ts';
import { IncidentNotices } from '../notify/incident-notices.ts';
import { NOTICE_ACTIONS, parseAuthority, RECIPIENT_KINDS, type NoticeAction, type RecipientKind } from '../notify/notice.ts';
import { affectedCustomers } from '../respond/incidents.ts';
import { loadEntities } from '../respond/entities.ts';
import { composeNotice, NoticeRenderer } from '../notify/render.ts';
import { DEFAULT_RETRY, sendNotices, type SendProgress } from '../notify/send.ts';
import { NOTICE_STATES } from '../store/notice-outbox.ts';
import { openVault } from '../vault/index.ts';
import { withIncidents } from './incident.ts';
import { actorOf, asOption, CLI_CONTEXT, type AsFlag } from './operator.ts';
import { storeOptions, withStore, type StoreFlags } from './store-flags.ts';

const DEFAULT_SMTP = 'smtp://127.0.0.1:25';
/** Messages in flight per pooled connection: the pool queues them, while their addresses are opened. */
const MESSAGES_PER_CONNECTION = 4;

interface DomainFlag {
  domain?: string;
}

/** --domain when given, else CUSTOS_NOTICE_DOMAIN (config). */
function domainOf(flags: DomainFlag, config: CustosConfig): string {
  if (flags.domain === undefined) return config.noticeDomain;
  if (!isDomainName(flags.domain)) throw new InvalidInputError(`--domain: "${flags.domain}" is not a domain name`, { field: 'domain' });
  return flags.domain;
}

function positiveInt(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidInputError(`${name} must be a whole number from 1 to ${max}, got "${raw}"`, { field: name.replace(/^--/, '') });
  return n;
}

function noticeAction(value: string): NoticeAction {
  if (!(NOTICE_ACTIONS as readonly string[]).includes(value)) throw new InvalidInputError(`--action must be one of ${NOTICE_ACTIONS.join(', ')}, got "${value}"`, { field: 'action' });
  return value as NoticeAction;
}

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** Progress on stderr: one line redrawn in place on a terminal, a line every few seconds otherwise. */
function progressPrinter(total: number): { update(p: SendProgress): void; note(line: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let lastAt = 0;
  const line = (p: SendProgress) => {
    const rate = p.elapsedMs > 0 ? ((p.sent * 1000) / p.elapsedMs).toFixed(0) : '0';
    return `notify: ${p.sent}/${total} sent, ${p.failed} failed, ${p.bounced} bounced, ${p.unreachable} unreachable (${rate}/s)`;
  };
  let last: SendProgress | undefined;
  return {
    update(p) {
      last = p;
      const now = Date.now();
      if (now - lastAt < (tty ? 100 : 5000)) return;
      lastAt = now;
      process.stderr.write(tty ? `\r${line(p)}\x1b[K` : `${line(p)}\n`);
    },
    /** A line of its own, above the progress line on a terminal. */
    note(text) {
      process.stderr.write(tty ? `\r${text}\x1b[K\n` : `${text}\n`);
    },
    done() {
      if (last) process.stderr.write(tty ? `\r${line(last)}\x1b[K\n` : `${line(last)}\n`);
    },
  };
}

/** The incident's notices service over the command's store, its acts recorded through the CLI's ledger writer. */
function withNotices<T>(opts: StoreFlags & AsFlag, work: (notices: IncidentNotices, ctx: Parameters<Parameters<typeof withIncidents>[1]>) => Promise<T>): Promise<T> {
  return withIncidents(opts, (service, store, deps, config) => work(
    new IncidentNotices({ store, incidents: service, entities: loadEntities(config.entitiesFile), now: deps.now }),
    [service, store, deps, config],
  ));
}

export function registerNotify(program: Command): void {
  const notify = program.command('notify').description('notices to the customers of an incident in the store: queue, render, send through SMTP, status');

  asOption(storeOptions(
    notify
      .command('queue')
      .description('render a notice for each of the incident\'s affected customers and queue it in the outbox (the incident must be assessing or notifying; a customer already queued is left as is). Recorded')
      .requiredOption('--incident <id>', 'an incident in the store: its affected customers (blast radius, or the exposure given)')
      .addOption(new Option('--recipient <kind>', 'who received the data').choices([...RECIPIENT_KINDS]).default('unknown'))
      .option('--action <name...>', `what was done (${NOTICE_ACTIONS.join(', ')}); default: access-revoked if the subject was contained`)
      .option('--authority <name...>', 'an authority informed, "JURISDICTION:Name" or "Name" (repeatable)')
      .option('--reference <text>', 'the reference customers quote (default: the incident id)')
      .addOption(new Option('--domain <domain>', 'domain of Message-IDs and the From address (env CUSTOS_NOTICE_DOMAIN)')),
  )).action(async (opts: StoreFlags & AsFlag & DomainFlag & { incident: string; recipient: RecipientKind; action?: string[]; authority?: string[]; reference?: string }) => {
    const facts = {
      recipient: opts.recipient,
      ...(opts.action ? { actions: opts.action.map((a) => noticeAction(a)) } : {}),
      authorities: (opts.authority ?? []).map(parseAuthority),
      ...(opts.reference ? { reference: opts.reference } : {}),
    };
    const result = await withNotices(opts, async (notices, [, store, deps, config]) => {
      const renderer = new NoticeRenderer(new NoticeCatalogs(), { domain: domainOf(opts, config) });
      // Customers imported when `entity` was sealed: moved to clear by the broker first, so each notice comes from their own entity.
      if ((await store.customers.withSealedEntityAfter('', 1)).length > 0) {
        const vault = await vaultForStore(store, { keyDir: config.keyDir, found: openVault({ dir: config.keyDir }), now: deps.now, createIfEmpty: false });
        await clearSealedEntities({ store, vault, recorder: deps.recorder, now: deps.now }, CLI_CONTEXT);
      }
      return notices.queue(actorOf(opts), checkId(opts.incident, 'incident'), facts, renderer, CLI_CONTEXT);
    });
    print(result);
  });

  asOption(storeOptions(
    notify
      .command('render')
      .description('print one customer\'s queued notice as the full RFC 5322 message (the recipient address stays in the vault: To is undisclosed-recipients). Recorded')
      .requiredOption('--incident <id>', 'incident id (assessing or notifying)')
      .requiredOption('--customer <id>', 'customer id (one the incident affected)'),
  )).action(async (opts: StoreFlags & AsFlag & { incident: string; customer: string }) => {
    const notice = await withNotices(opts, (notices) => notices.preview(actorOf(opts), checkId(opts.incident, 'incident'), checkId(opts.customer, 'customer'), CLI_CONTEXT));
    process.stdout.write(await composeNotice(notice, undefined, new Date()));
  });

  asOption(storeOptions(
    notify
      .command('send')
      .description('send the incident\'s queued notices through SMTP (pooled), exactly once per customer; moves an assessing incident to notifying; retries failures with backoff; progress on stderr')
      .requiredOption('--incident <id>', 'incident id')
      .addOption(new Option('--smtp <url>', `SMTP server, smtp://[user:pass@]host:port (env CUSTOS_SMTP_URL; default ${DEFAULT_SMTP})`))
      .option('--rate <n>', 'at most this many messages a second')
      .option('--connections <n>', 'pooled SMTP connections', '5')
      .option('--max-attempts <n>', `attempts before a notice is given up (default ${DEFAULT_RETRY.maxAttempts})`)
      .option('--retry-after <ms>', `first retry after this many ms, doubling each time (default ${DEFAULT_RETRY.baseMs})`)
      .option('--lease <ms>', 'how long a message being sent stays this sender\'s before another may take it (default 120000)')
      .option('--no-wait', 'stop when nothing is due now instead of waiting for retries'),
  )).action(async (opts: StoreFlags & AsFlag & { incident: string; smtp?: string; rate?: string; connections: string; maxAttempts?: string; retryAfter?: string; lease?: string; wait: boolean }) => {
    const incident = checkId(opts.incident, 'incident');
    const rate = opts.rate !== undefined ? positiveInt('--rate', opts.rate, 1, 100_000) : undefined;
    const connections = positiveInt('--connections', opts.connections, 5, 100);
    const leaseMs = positiveInt('--lease', opts.lease, 120_000, 86_400_000);
    const retry = {
      ...DEFAULT_RETRY,
      maxAttempts: positiveInt('--max-attempts', opts.maxAttempts, DEFAULT_RETRY.maxAttempts, 100),
      baseMs: positiveInt('--retry-after', opts.retryAfter, DEFAULT_RETRY.baseMs, 86_400_000),
    };
    const smtp = opts.smtp ?? process.env.CUSTOS_SMTP_URL ?? DEFAULT_SMTP;
    if (!/^smtps?:\/\//.test(smtp)) throw new ConfigError(`--smtp: expected smtp://host:port or smtps://host:port`);
    const actor = actorOf(opts);
    const summary = await withNotices(opts, async (notices, [, store, deps, config]) => {
      const counts = await store.noticeOutbox.counts(incident);
      const total = NOTICE_STATES.reduce((n, state) => n + counts[state].total, 0);
      // Decided and recorded first: an incident not in the store, or not at the point of telling customers, sends nothing.
      const { seq } = await notices.startSending(actor, incident, CLI_CONTEXT);
      if (total === 0) throw new NotFoundError(`no notices queued for incident "${incident}" (custos notify queue first)`);
      const vault = await vaultForStore(store, { keyDir: config.keyDir, found: openVault({ dir: config.keyDir }), now: deps.now, createIfEmpty: false });
      const addresses = new NoticeAddresses({
        store, vault, policy: deps.policy, recorder: deps.recorder, now: deps.now,
        affectedBy: async (i) => (await affectedCustomers(store, i)).map((c) => c.customer),
      });
      const transport = nodemailer.createTransport({
        url: smtp,
        pool: true,
        maxConnections: connections,
        maxMessages: Infinity,
        // Well inside the lease: a transaction that hangs fails before another sender may take its row.
        connectionTimeout: Math.min(30_000, leaseMs / 2),
        greetingTimeout: Math.min(30_000, leaseMs / 2),
        socketTimeout: Math.min(60_000, leaseMs / 2),
      });
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      const printer = progressPrinter(counts.queued.total + counts.failed.pending + counts.bounced.pending + counts.sending.total);
      try {
        const result = await sendNotices(incident, {
          outbox: store.noticeOutbox,
          transport,
          addressFor: (inc, customer) => addresses.addressFor(actor, inc, customer, CLI_CONTEXT),
          owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          nowMs: () => Date.now(),
          concurrency: connections * MESSAGES_PER_CONNECTION,
          ...(rate !== undefined ? { rate } : {}),
          leaseMs,
          retry,
          waitForRetries: opts.wait,
          signal: stop.signal,
          onProgress: (p) => printer.update(p),
          onWait: (until, c) => {
            const retrying = c.failed.pending + c.bounced.pending;
            const leased = c.sending.total;
            printer.note(`notify: waiting ${Math.ceil((until - Date.now()) / 1000)} s (${retrying} to retry, ${leased} held by another sender until its lease ends)`);
          },
        });
        await notices.recordSent(actor, incident, seq, result);
        return result;
      } finally {
        printer.done();
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        transport.close();
      }
    });
    print({ incident, sent: summary.sent, failed: summary.failed, bounced: summary.bounced, unreachable: summary.unreachable, seconds: summary.elapsedMs / 1000, outbox: summary.outbox });
  });

  asOption(storeOptions(
    notify
      .command('status')
      .description('where the incident\'s notices stand: counts by state and the failures with their last error; with --list each customer\'s state, attempts and last error. Recorded')
      .requiredOption('--incident <id>', 'incident id')
      .option('--list', 'every notice, one JSON line each'),
  )).action(async (opts: StoreFlags & AsFlag & { incident: string; list?: boolean }) => {
    const incident = checkId(opts.incident, 'incident');
    await withNotices(opts, async (notices, [, store]) => {
      const status = await notices.status(actorOf(opts), incident, { limit: 100 }, CLI_CONTEXT);
      if (!opts.list) return print(status);
      for (let after: string | undefined; ; ) {
        const page = await store.noticeOutbox.list(incident, { ...(after !== undefined ? { after } : {}), limit: 1000 });
        for (const e of page) process.stdout.write(`${JSON.stringify(e)}\n`);
        if (page.length < 1000) break;
        after = page[page.length - 1]!.customer;
      }
    });
  });

  asOption(storeOptions(
    notify
      .command('bounces')
      .description('record the bounces that delivery status reports (RFC 3464) tell of: each failed report\'s notice, found by the Message-ID of the original message, is marked bounced and never sent again. Recorded per incident')
      .requiredOption('--file <file...>', 'a bounce message (.eml), or an mbox of them; repeatable'),
  )).action(async (opts: StoreFlags & AsFlag & { file: string[] }) => {
    const readings = (await Promise.all(opts.file.map((f) => readDeliveryReports(f)))).flat();
    const reports: DeliveryReport[] = [];
    const unreadable: Array<{ at: string; problem: string }> = [];
    for (const r of readings) {
      if ('report' in r) reports.push(r.report);
      else {
        unreadable.push(r);
        process.stderr.write(`${r.at}: skipped: ${r.problem}\n`);
      }
    }
    const summary = await withNotices(opts, (notices) => notices.recordBounces(actorOf(opts), reports, CLI_CONTEXT));
    print({ ...summary, unreadable: unreadable.length });
  });
}
