/**
 * A real SMTP server on loopback (smtp-server) that keeps every message it accepts, raw and
 * parsed (mailparser), with its envelope and the time of its 250. Recipients can be refused
 * with any reply, per attempt, to exercise retries; acceptance can be slowed down to keep
 * messages in flight.
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  raw: Buffer;
  parsed: ParsedMail;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  /** When the client began the transaction (MAIL FROM), ms since the epoch. */
  startedAt: number;
  /** When the server answered 250 to the message. */
  acceptedAt: number;
}

export interface SmtpSinkOptions {
  /** A reply refusing this recipient on its `attempt`-th RCPT (1-based), or undefined to accept. */
  refuse?: (address: string, attempt: number) => { code: number; message: string } | undefined;
  /** Hold each message this long before the 250 (a slow server keeps messages in flight). */
  acceptDelayMs?: number;
}

export interface SmtpSink {
  port: number;
  url: string;
  received: ReceivedMail[];
  /** RCPT attempts per address, refused or not. */
  attempts: Map<string, number>;
  /** When each of those attempts came, ms since the epoch. */
  attemptTimes: Map<string, number[]>;
  close(): Promise<void>;
}

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const attempts = new Map<string, number>();
  const attemptTimes = new Map<string, number[]>();
  const started = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onMailFrom(_address, session, callback) {
      started.set(session.id, Date.now());
      callback();
    },
    onRcptTo(address, _session, callback) {
      const n = (attempts.get(address.address) ?? 0) + 1;
      attempts.set(address.address, n);
      attemptTimes.set(address.address, [...(attemptTimes.get(address.address) ?? []), Date.now()]);
      const refusal = opts.refuse?.(address.address, n);
      if (!refusal) return callback();
      const err = Object.assign(new Error(refusal.message), { responseCode: refusal.code });
      return callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      const startedAt = started.get(session.id) ?? Date.now();
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const accept = () =>
          simpleParser(raw).then(
            (parsed) => {
              received.push({ raw, parsed, to: session.envelope.rcptTo.map((r) => r.address), startedAt, acceptedAt: Date.now() });
              callback();
            },
            (err: Error) => callback(err),
          );
        if (opts.acceptDelayMs) setTimeout(accept, opts.acceptDelayMs);
        else void accept();
      });
    },
  });
  // A client killed mid-transaction resets its connection: that is the test, not a failure.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    attempts,
    attemptTimes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
