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
const NONE: readonly string[] = [];

type Kind = 'view' | 'reveal' | 'denied' | 'update' | 'search' | 'export';

/**
 * An event waiting to be written. It holds references only (the day's Via, the customer's id,
 * shared field lists); its line is built when it is written, so the text never outlives a write
 * buffer and events waiting for their turn cost the garbage collector little.
 */
export class PendingEvent {
  time = 0;
  /** The insider whose malicious act this is, or -1. */
  insider = -1;

  constructor(
    readonly kind: Kind,
    readonly via: Via,
    /** One customer, or the list a search found or an export took. */
    readonly customers: string | readonly string[],
    readonly fields: readonly string[],
    readonly ref: string | undefined,
    /** The deny reason, or the search's kind. */
    readonly note?: string,
    readonly hash?: string,
  ) {}

  /** The line's body: everything after `id` and `time` (DESIGN.md, as Custos records it). */
  body(): string {
    const v = this.via;
    const c = this.customers as string;
    switch (this.kind) {
      case 'view':
        return `"actor":"${v.actor}","action":"view","customers":["${c}"],"fields":[]${purposeOf(this.ref)},"decision":"allow",${via(v)},"target":{"type":"customer","id":"${c}"},"operation":"view"`;
      case 'reveal': {
        const list = jsonList(this.fields);
        return `"actor":"${v.actor}","action":"reveal","customers":["${c}"],"fields":${list}${purposeOf(this.ref)},"decision":"allow",${via(v)},"target":{"type":"customer","id":"${c}"},"operation":"reveal","requested":${list}`;
      }
      case 'denied':
        return `"actor":"${v.actor}","action":"reveal","customers":["${c}"],"fields":[]${purposeOf(this.ref)},"decision":"deny","reason":"${this.note}",${via(v)},"target":{"type":"customer","id":"${c}"},"operation":"reveal","requested":${jsonList(this.fields)}`;
      case 'update':
        return `"actor":"${v.actor}","action":"update","customers":["${c}"],"fields":[]${purposeOf(this.ref)},"decision":"allow",${via(v)},"target":{"type":"customer","id":"${c}"},"operation":"update"`;
      case 'search': {
        const hits = this.customers as readonly string[];
        return `"actor":"${v.actor}","action":"search","customers":${jsonList(hits)},"fields":[],"decision":"allow",${via(v)},"target":{"type":"directory","id":"customers"},"operation":"search","search":{"kind":"${this.note}","hash":"${this.hash}","hits":${hits.length}}`;
      }
      case 'export': {
        const list = jsonList(this.fields);
        return `"actor":"${v.actor}","action":"export","customers":${jsonList(this.customers as readonly string[])},"fields":${list}${purposeOf(this.ref)},"decision":"allow",${via(v)},"target":{"type":"directory","id":"customers"},"operation":"export","requested":${list}`;
      }
    }
  }
}

/** The events the simulation emits, as DESIGN.md and Custos's own records have them. */
export const eventBody = {
  view: (v: Via, customer: string, purposeRef?: string) => new PendingEvent('view', v, customer, NONE, purposeRef),
  reveal: (v: Via, customer: string, fields: readonly string[], purposeRef?: string) => new PendingEvent('reveal', v, customer, fields, purposeRef),
  revealDenied: (v: Via, customer: string, requested: readonly string[], reason: string, purposeRef?: string) => new PendingEvent('denied', v, customer, requested, purposeRef, reason),
  update: (v: Via, customer: string, purposeRef?: string) => new PendingEvent('update', v, customer, NONE, purposeRef),
  /** A directory search: the customers it found (masked), never the query, only its keyed hash. */
  search: (v: Via, kind: 'email' | 'phone', hash: string, hits: readonly string[]) => new PendingEvent('search', v, hits, NONE, undefined, kind, hash),
  export: (v: Via, customers: readonly string[], fields: readonly string[], purposeRef?: string) => new PendingEvent('export', v, customers, fields, purposeRef),
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

export type WrittenEvent = (id: string, time: number, insider: number) => void;

/**
 * Events in time order: added in any order, written once `flushBefore` says nothing earlier can
 * still come. Ties keep the order they were added in (the sort is stable), so a run is
 * reproducible. Events outside [from, to) are dropped: the window's edges cut shifts in two.
 */
export class TimeOrderedEvents {
  #buckets = new Map<number, PendingEvent[]>();
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

  add(time: number, event: PendingEvent, insider = -1): void {
    if (time < this.#from || time >= this.#to) return;
    const hour = Math.floor(time / HOUR_MS);
    let bucket = this.#buckets.get(hour);
    if (!bucket) this.#buckets.set(hour, (bucket = []));
    event.time = Math.floor(time);
    event.insider = insider;
    bucket.push(event);
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
      this.out.write(`{"id":"${id}","time":"${isoTime(e.time)}",${e.body()}}\n`);
      if (e.insider >= 0) this.onWritten(id, e.time, e.insider);
    }
  }
}
