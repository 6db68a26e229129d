/**
 * The access-event stream: the broker publishes every recorded event here, after it is
 * durable in the ledger; detectors subscribe. In-process for the embedded shape; the scaled
 * shape puts NATS JetStream behind the same interface.
 */
import type { RecordedEvent } from '../model.ts';

export type EventHandler = (events: readonly RecordedEvent[]) => void | Promise<void>;

export interface EventStream {
  publish(events: readonly RecordedEvent[]): Promise<void>;
  /** Returns a function that ends the subscription. */
  subscribe(handler: EventHandler): () => void;
  close(): Promise<void>;
}

/** Delivers to every subscriber in order; a failing subscriber is reported, never breaks publishing. */
export class InProcessStream implements EventStream {
  private readonly handlers = new Set<EventHandler>();

  constructor(private readonly onHandlerError: (err: unknown) => void = () => {}) {}

  async publish(events: readonly RecordedEvent[]): Promise<void> {
    for (const handler of this.handlers) {
      try {
        await handler(events);
      } catch (err) {
        this.onHandlerError(err);
      }
    }
  }

  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
