/**
 * The one logger. PII never reaches a log line: request logs carry the route pattern,
 * never the URL (a query string may hold an e-mail or phone), and the redact paths below
 * catch PII-shaped keys anywhere a caller might pass them.
 */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'email', 'phone', 'name', 'fields', 'values',
  '*.email', '*.phone', '*.name', '*.values',
  'req.headers.authorization', 'headers.authorization', 'token', '*.token',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'custos' } }, destination);
}

export type { Logger };
