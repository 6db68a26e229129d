/**
 * POST /v1/events: access events from systems not behind the broker, as a line-delimited JSON
 * body (application/x-ndjson or application/jsonl). The body is streamed to a private temporary
 * file (bounded memory, however large), checked whole, then recorded: all or nothing
 * (broker/ingest.ts). The caller needs Cedar's `ingest`.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import type { ActLogDeps } from '../broker/acts.ts';
import { EventIngest, type IngestRun } from '../broker/ingest.ts';
import { CustosError, InvalidInputError, TooLargeError } from '../errors.ts';
import { errorResponses } from './errors.ts';

export const EVENT_BODY_TYPES = ['application/x-ndjson', 'application/jsonl'] as const;

/** A line longer than this is refused: a reader would have to hold it whole. */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * The request body, unread. Its stream is a private field, so the hooks that walk a body's
 * values (unsafe text) see nothing in it; each line is checked when it is parsed.
 */
export class StreamedBody {
  readonly #stream: Readable;
  constructor(stream: Readable) {
    this.#stream = stream;
  }
  get stream(): Readable {
    return this.#stream;
  }
}

const summarySchema = {
  type: 'object',
  properties: {
    ingested: { type: 'integer', description: 'events recorded' },
    skipped: { type: 'integer', description: 'events skipped: their id was ingested from the same source before' },
    act: { type: 'integer', description: "ledger index of the ingest act; each event's details.ingestAct" },
    first: { type: 'integer', description: 'ledger index of the first event recorded' },
    last: { type: 'integer', description: 'ledger index of the last event recorded' },
  },
  required: ['ingested', 'skipped', 'act'],
} as const;

export function eventRoutes(deps: ActLogDeps, limits: { maxBytes: number }) {
  return async (app: FastifyInstance): Promise<void> => {
    const ingest = new EventIngest(deps);
    app.addContentTypeParser([...EVENT_BODY_TYPES], (_req, payload, done) => done(null, new StreamedBody(payload)));

    app.post<{ Querystring: { source?: string } }>('/v1/events', {
      schema: {
        summary: `Record access events from a system not behind the broker: one DESIGN.md event per line (${EVENT_BODY_TYPES.join(' or ')}), at most ${limits.maxBytes} bytes; all or nothing`,
        description: 'Every line is checked before any is recorded: a bad line answers 400 naming the line and the field (`line`, `field`, and `problems` for up to 20 bad lines), and nothing is recorded. Each event is recorded with its own actor and time, marked `details.ingested`, `details.source` and `details.ingestAct`.',
        tags: ['events'],
        consumes: [...EVENT_BODY_TYPES],
        querystring: {
          type: 'object',
          properties: { source: { type: 'string', minLength: 1, maxLength: 128, description: 'the system the events come from (default "api")' } },
          additionalProperties: false,
        },
        response: { 200: summarySchema, ...errorResponses(400, 401, 403, 413, 415, 503) },
      },
    }, async (req) => {
      if (!(req.body instanceof StreamedBody)) {
        throw new UnsupportedBody(`send the events as ${EVENT_BODY_TYPES.join(' or ')}: one JSON object per line`);
      }
      const declared = Number(req.headers['content-length']);
      const run = await ingest.begin({ kind: 'employee', id: req.actor }, req.query.source ?? 'api', {}, { channel: 'api', ip: req.ip });
      if (declared > limits.maxBytes) return refuse(run, new TooLargeError(tooLarge(limits.maxBytes)), { bytes: declared });
      const dir = await mkdtemp(join(tmpdir(), 'custos-ingest-'));
      try {
        const file = join(dir, 'events.jsonl');
        let spooled: { bytes: number; sha256: string };
        try {
          spooled = await spool(req.body.stream, file, limits.maxBytes);
        } catch (err) {
          if (err instanceof CustosError) return await refuse(run, err, {});
          throw err;
        }
        return await run.ingestFile(file, undefined, spooled);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  };
}

/** 415: the closed error set has none, fastify's own has the status. */
class UnsupportedBody extends Error {
  readonly statusCode = 415;
}

async function refuse(run: IngestRun, err: CustosError, details: Record<string, number>): Promise<never> {
  await run.abandon({ ...details, why: err.code });
  throw err;
}

const tooLarge = (max: number) => `the body is larger than ${max} bytes (CUSTOS_INGEST_MAX_BYTES); send the events in several requests`;

/** Copy `stream` into `file` (mode 0600), counting bytes and lines; SHA-256 of what was written. */
async function spool(stream: Readable, file: string, maxBytes: number): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let line = 1;
  let lineBytes = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length;
      if (bytes > maxBytes) return done(new TooLargeError(tooLarge(maxBytes)));
      let from = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
        if (lineBytes + nl - from > MAX_LINE_BYTES) break;
        lineBytes = 0;
        line++;
        from = nl + 1;
      }
      lineBytes += chunk.length - from;
      if (lineBytes > MAX_LINE_BYTES) return done(new InvalidInputError(`line ${line}: longer than ${MAX_LINE_BYTES} bytes; one event per line`, { line }));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(stream, check, createWriteStream(file, { mode: 0o600 }));
  return { bytes, sha256: hash.digest('hex') };
}
