/**
 * The access-event stream: every recorded event is published here once its ledger batch is
 * durable; detectors subscribe. In-process for the embedded shape; the scaled shape puts NATS
 * JetStream behind the same interface (a subscription from a ledger index is a consumer with a
 * start sequence, returning from the handler is the ack).
 *
 * The contract, whatever carries it:
 * - each subscriber gets every event exactly once, in ledger index (seq) order, batch after
 *   batch: the next batch is handed over only once the handler has returned (or its promise settled);
 * - publishing never waits for a subscriber, so the request path is never slowed by one;
 * - the ledger is the stream's memory: a subscriber that starts from an earlier index, or falls
 *   further behind than its queue holds, re-reads what it missed from the ledger, then goes on live.
 */
import { InvalidInputError, UnavailableError } from '../errors.ts';
import type { RecordedEvent } from '../model.ts';
import type { EventSource } from './ledger-source.ts';

/** Returning (or resolving) acknowledges the batch; a throw is reported and delivery goes on. */
export type EventHandler = (events: readonly RecordedEvent[]) => void | Promise<void>;

/** The events of one committed stretch of the ledger, entries [from, to). */
export interface CommittedEvents {
  from: number;
  to: number;
  /** In seq order; entries in the stretch that are not access events are absent. */
  events: readonly RecordedEvent[];
}

export interface SubscribeOptions {
  /** The first ledger index to deliver; default: the stream's head, i.e. only what is published from now on. */
  from?: number;
  /** Names the subscriber in error and catch-up reports. */
  name?: string;
}

export interface Subscription {
  /** The next ledger index this subscriber has not handled: every event below it was delivered and acknowledged. */
  readonly position: number;
  /** Times this subscriber fell behind (queue full, or a stretch it was not handed) and re-read from the ledger. */
  readonly catchUps: number;
  /**
   * Ends delivery; resolves once no call of this subscriber's handler is running (so a handler
   * must not await its own subscription's close).
   */
  close(): Promise<void>;
}

export interface EventStream {
  /** Hands over a committed stretch of the ledger. Call in ledger order; never waits for a subscriber. */
  publish(committed: CommittedEvents): void;
  subscribe(handler: EventHandler): Subscription;
  subscribe(options: SubscribeOptions, handler: EventHandler): Subscription;
  /** Resolves once every subscriber has acknowledged everything published before the call. */
  settled(): Promise<void>;
  /** Ends every subscription; resolves once no handler is running. */
  close(): Promise<void>;
}

export interface InProcessStreamOptions {
  /** Where a late or lagging subscriber re-reads events: the ledger (ledgerEventSource). */
  source: EventSource;
  /** The ledger's size when the stream starts: where live delivery begins. */
  head: number;
  /**
   * Events a subscriber may have waiting before it is switched to catching up from the ledger
   * (default 10,000); a single batch larger than this is still queued, alone.
   */
  maxQueuedEvents?: number;
  /** A handler threw, or the ledger could not be read for a catch-up (retried after `retryMs`). */
  onSubscriberError?: (err: unknown, subscriber: string) => void;
  /** A subscriber fell behind and re-reads from `from` out of the ledger. */
  onCatchUp?: (subscriber: string, from: number) => void;
  /** Wait before retrying a failed ledger read (default 1,000 ms). */
  retryMs?: number;
}

/**
 * Each subscriber has its own bounded queue and its own delivery loop, so a slow one delays
 * nobody else. Overflow policy: when a batch would take a subscriber's queue past
 * `maxQueuedEvents`, its queue is dropped and it catches up from the ledger, starting at the
 * first index it has not been handed; live batches published meanwhile are not queued for it,
 * since the ledger already holds them. It rejoins live delivery once it has read up to the head.
 * Nothing is skipped or repeated: delivery is by ledger index.
 */
export class InProcessStream implements EventStream {
  /** The ledger index after the last published stretch. */
  private headIndex: number;
  private readonly subscribers = new Set<Subscriber>();
  private readonly side: StreamSide;
  private closed = false;
  private unnamed = 0;

  constructor(options: InProcessStreamOptions) {
    this.headIndex = options.head;
    const maxQueuedEvents = options.maxQueuedEvents ?? 10_000;
    if (!Number.isInteger(this.headIndex) || this.headIndex < 0) throw new InvalidInputError('head must be a ledger index', { field: 'head' });
    if (!Number.isInteger(maxQueuedEvents) || maxQueuedEvents < 1) throw new InvalidInputError('maxQueuedEvents must be a positive whole number', { field: 'maxQueuedEvents' });
    this.side = {
      head: () => this.headIndex,
      source: options.source,
      maxQueuedEvents,
      retryMs: options.retryMs ?? 1000,
      onError: options.onSubscriberError ?? (() => {}),
      onCatchUp: options.onCatchUp ?? (() => {}),
      remove: (subscriber) => this.subscribers.delete(subscriber),
    };
  }

  /** The ledger index up to which events have been published. */
  get head(): number {
    return this.headIndex;
  }

  publish(committed: CommittedEvents): void {
    if (this.closed || committed.to <= this.headIndex) return;
    this.headIndex = committed.to;
    for (const s of this.subscribers) s.offer(committed);
  }

  subscribe(handler: EventHandler): Subscription;
  subscribe(options: SubscribeOptions, handler: EventHandler): Subscription;
  subscribe(a: SubscribeOptions | EventHandler, b?: EventHandler): Subscription {
    const [options, handler] = typeof a === 'function' ? [{}, a] : [a, b];
    if (typeof handler !== 'function') throw new InvalidInputError('subscribe needs a handler', { field: 'handler' });
    if (this.closed) throw new UnavailableError('the event stream is closed');
    const from = options.from ?? this.headIndex;
    if (!Number.isInteger(from) || from < 0) throw new InvalidInputError('from must be a ledger index (a whole number, 0 or more)', { field: 'from' });
    const subscriber = new Subscriber(this.side, options.name ?? `subscriber-${++this.unnamed}`, handler, from);
    this.subscribers.add(subscriber);
    subscriber.start();
    return subscriber;
  }

  async settled(): Promise<void> {
    const target = this.headIndex;
    await Promise.all([...this.subscribers].map((s) => s.reached(target)));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscribers].map((s) => s.close()));
  }

}

/** What a subscriber needs of its stream. */
interface StreamSide {
  head(): number;
  source: EventSource;
  maxQueuedEvents: number;
  retryMs: number;
  onError(err: unknown, subscriber: string): void;
  onCatchUp(subscriber: string, from: number): void;
  remove(subscriber: Subscriber): void;
}

class Subscriber implements Subscription {
  /** Everything below was handed to the handler and acknowledged. */
  position: number;
  catchUps = 0;
  /** The next ledger index not yet handed to the handler (ahead of `position` while a call runs). */
  private cursor: number;
  private mode: 'live' | 'catching-up';
  private readonly queue: CommittedEvents[] = [];
  private queuedEvents = 0;
  private delivering: Promise<void> | undefined;
  private closed = false;
  private readonly waiters: Array<{ target: number; resolve(): void }> = [];
  private wakeRetry: (() => void) | undefined;

  constructor(
    private readonly stream: StreamSide,
    private readonly name: string,
    private readonly handler: EventHandler,
    from: number,
  ) {
    this.position = from;
    this.cursor = from;
    this.mode = from < stream.head() ? 'catching-up' : 'live';
  }

  start(): void {
    if (this.mode === 'catching-up') this.run();
  }

  /** A stretch was published (in ledger order). */
  offer(committed: CommittedEvents): void {
    if (this.closed || this.mode === 'catching-up') return; // the catch-up reads up to the head
    const expected = this.queue.at(-1)?.to ?? this.cursor;
    if (committed.from > expected || (this.queue.length > 0 && this.queuedEvents + committed.events.length > this.stream.maxQueuedEvents)) {
      // A stretch it was not handed (another process appended), or it is too far behind.
      this.fallBehind();
      return;
    }
    this.queue.push(committed);
    this.queuedEvents += committed.events.length;
    this.run();
  }

  reached(target: number): Promise<void> {
    if (this.closed || this.position >= target) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ target, resolve }));
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.queue.length = 0;
      this.queuedEvents = 0;
      this.stream.remove(this);
      this.wakeRetry?.();
      for (const w of this.waiters.splice(0)) w.resolve();
    }
    await this.delivering;
  }

  private fallBehind(): void {
    this.queue.length = 0;
    this.queuedEvents = 0;
    this.mode = 'catching-up';
    this.catchUps++;
    this.stream.onCatchUp(this.name, this.cursor);
    this.run();
  }

  private run(): void {
    this.delivering ??= this.deliverLoop().finally(() => {
      this.delivering = undefined;
    });
  }

  private async deliverLoop(): Promise<void> {
    while (!this.closed) {
      if (this.mode === 'catching-up') {
        await this.catchUp();
        continue;
      }
      const next = this.queue.shift();
      if (!next) return;
      this.queuedEvents -= next.events.length;
      const from = this.cursor;
      this.cursor = Math.max(this.cursor, next.to);
      await this.hand(next.events, from);
      this.advance(next.to);
    }
  }

  /** One pass from the cursor to the head as it is now; switches to live once nothing is left. */
  private async catchUp(): Promise<void> {
    const to = this.stream.head();
    if (this.cursor >= to) {
      // Synchronously with the check: the next published stretch starts exactly at the cursor.
      this.mode = 'live';
      return;
    }
    try {
      for await (const events of this.stream.source.read(this.cursor, to)) {
        if (this.closed) return;
        const last = events.at(-1);
        if (!last) continue;
        const from = this.cursor;
        this.cursor = last.seq + 1;
        await this.hand(events, from);
        this.advance(this.cursor);
      }
      this.cursor = Math.max(this.cursor, to);
      this.advance(this.cursor);
    } catch (err) {
      this.stream.onError(err, this.name);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.stream.retryMs);
        timer.unref();
        this.wakeRetry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRetry = undefined;
    }
  }

  /** Calls the handler with the events at or after `from` (never one twice), reporting a throw. */
  private async hand(events: readonly RecordedEvent[], from: number): Promise<void> {
    const fresh = events.length > 0 && events[0]!.seq < from ? events.filter((e) => e.seq >= from) : events;
    if (fresh.length === 0 || this.closed) return;
    try {
      await this.handler(fresh);
    } catch (err) {
      this.stream.onError(err, this.name);
    }
  }

  private advance(to: number): void {
    if (to <= this.position) return;
    this.position = to;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.target <= to) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
