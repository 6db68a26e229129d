/**
 * A local SMTP server for the notify benchmark, in a process of its own so that receiving does
 * not share the sender's event loop: accepts every message, keeps none, and prints its port.
 * Run as `node --import tsx bench/smtp-sink.ts`; stops on SIGTERM or when stdin closes.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

let received = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received++;
      callback();
    });
  },
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.server.address() as AddressInfo).port}\n`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop).resume();
process.on('SIGUSR2', () => process.stderr.write(`${received}\n`));
