/**
 * How simulated events become events.jsonl lines, in time order, without holding the run:
 * events wait in hour buckets until no later generation can precede them, then each bucket
 * is sorted and written. Lines are built as text (ids and names here never need escaping),
 * and written through one buffered file descriptor.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { HOUR_MS } from './organisation.ts';

/** A file written in large chunks. */
export class LineFile {
  #fd: number;
  #chunks: string[] = [];
  #size = 0;

  constructor(path: string) {
    this.#fd = openSync(path, 'w');
  }

  write(line: string): void {
    this.#chunks.push(line);
    this.#size += line.length;
    if (this.#size >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.#chunks.length === 0) return;
    writeSync(this.#fd, this.#chunks.join(''));
    this.#chunks = [];
    this.#size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.#fd);
  }
}

/** Who acts, through what: the part every event of one person's day shares. */
export interface Via {
  actor: string;
  channel: string;
  ip: string;
}

const jsonList = (items: readonly string[]) => (items.length === 0 ? '[]' : `["${items.join('","')}"]`);
const purposeOf = (ref: string | undefined) => (ref === undefined ? '' : `,"purpose":{"kind":"case","ref":"${ref}"}`);
const via = (v: Via) => `"channel":"${v.channel}","ip":"${v.ip}"`;

/** The body of an events.jsonl line, everything after `id` and `time` (DESIGN.md, as Custos records). */
export const eventBody = {
  view(v: Via, customer: string, purposeRef?: string): string {
    return `"actor":"${v.actor}","action":"view","customers":["${customer}"],"fields":[]${purposeOf(purposeRef)},"decision":"allow",${via(v)},"target":{"type":"customer","id":"${customer}"},"operation":"view"`;
  },
  reveal(v: Via, customer: string, fields: readonly string[], purposeRef?: string): string {
    const list = jsonList(fields);
    return `"actor":"${v.actor}","action":"reveal","customers":["${customer}"],"fields":${list}${purposeOf(purposeRef)},"decision":"allow",${via(v)},"target":{"type":"customer","id":"${customer}"},"operation":"reveal","requested":${list}`;
  },
  revealDenied(v: Via, customer: string, requested: readonly string[], reason: string, purposeRef?: string): string {
    return `"actor":"${v.actor}","action":"reveal","customers":["${customer}"],"fields":[]${purposeOf(purposeRef)},"decision":"deny","reason":"${reason}",${via(v)},"target":{"type":"customer","id":"${customer}"},"operation":"reveal","requested":${jsonList(requested)}`;
  },
  update(v: Via, customer: string, purposeRef?: string): string {
    return `"actor":"${v.actor}","action":"update","customers":["${customer}"],"fields":[]${purposeOf(purposeRef)},"decision":"allow",${via(v)},"target":{"type":"customer","id":"${customer}"},"operation":"update"`;
  },
  /** A directory search: the customers it found (masked), never the query, only its keyed hash. */
  search(v: Via, kind: 'email' | 'phone', hash: string, hits: readonly string[]): string {
    return `"actor":"${v.actor}","action":"search","customers":${jsonList(hits)},"fields":[],"decision":"allow",${via(v)},"target":{"type":"directory","id":"customers"},"operation":"search","search":{"kind":"${kind}","hash":"${hash}","hits":${hits.length}}`;
  },
  export(v: Via, customers: readonly string[], fields: readonly string[], purposeRef?: string): string {
    const list = jsonList(fields);
    return `"actor":"${v.actor}","action":"export","customers":${jsonList(customers)},"fields":${list}${purposeOf(purposeRef)},"decision":"allow",${via(v)},"target":{"type":"directory","id":"customers"},"operation":"export","requested":${list}`;
  },
};

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

let cachedHour = Number.NaN;
let cachedPrefix = '';

/** `new Date(ms).toISOString()` for whole ms, formatting the date and hour once per hour. */
export function isoTime(ms: number): string {
  const hour = Math.floor(ms / HOUR_MS);
  if (hour !== cachedHour) {
    cachedHour = hour;
    cachedPrefix = new Date(hour * HOUR_MS).toISOString().slice(0, 14);
  }
  const within = ms - hour * HOUR_MS;
  return `${cachedPrefix}${TWO_DIGITS[Math.floor(within / 60_000)]}:${TWO_DIGITS[Math.floor(within / 1000) % 60]}.${THREE_DIGITS[within % 1000]}Z`;
}

interface Pending {
  time: number;
  body: string;
  /** The insider whose malicious act this is, or -1. */
  insider: number;
}

export type WrittenEvent = (id: string, time: number, insider: number) => void;

/**
 * Events in time order: added in any order, written once `flushBefore` says nothing earlier can
 * still come. Ties keep the order they were added in (the sort is stable), so a run is
 * reproducible. Events outside [from, to) are dropped: the window's edges cut shifts in two.
 */
export class TimeOrderedEvents {
  #buckets = new Map<number, Pending[]>();
  #next = 1;
  #pending = 0;
  /** The most events ever waiting at once: what the run's memory holds of its events. */
  peakPending = 0;
  readonly #from: number;
  readonly #to: number;

  constructor(
    private readonly out: { write(line: string): void },
    window: { startMs: number; endMs: number },
    private readonly onWritten: WrittenEvent,
  ) {
    this.#from = window.startMs;
    this.#to = window.endMs;
  }

  get written(): number {
    return this.#next - 1;
  }

  add(time: number, body: string, insider = -1): void {
    if (time < this.#from || time >= this.#to) return;
    const hour = Math.floor(time / HOUR_MS);
    let bucket = this.#buckets.get(hour);
    if (!bucket) this.#buckets.set(hour, (bucket = []));
    // Reading a character flattens the string built piece by piece: the event then waits as one
    // string, not a tree of pieces for the garbage collector to trace until it is written.
    body.charCodeAt(0);
    bucket.push({ time: Math.floor(time), body, insider });
    if (++this.#pending > this.peakPending) this.peakPending = this.#pending;
  }

  /** Writes every event before `ms` (whole hours only). */
  flushBefore(ms: number): void {
    const limit = Math.floor(ms / HOUR_MS);
    const hours = [...this.#buckets.keys()].filter((h) => h < limit).sort((a, b) => a - b);
    for (const hour of hours) this.#writeBucket(hour);
  }

  finish(): void {
    this.flushBefore(Number.MAX_SAFE_INTEGER);
  }

  #writeBucket(hour: number): void {
    const bucket = this.#buckets.get(hour)!;
    this.#buckets.delete(hour);
    this.#pending -= bucket.length;
    bucket.sort((a, b) => a.time - b.time);
    for (const e of bucket) {
      const id = `ev-${String(this.#next++).padStart(10, '0')}`;
      this.out.write(`{"id":"${id}","time":"${isoTime(e.time)}",${e.body}}\n`);
      if (e.insider >= 0) this.onWritten(id, e.time, e.insider);
    }
  }
}
