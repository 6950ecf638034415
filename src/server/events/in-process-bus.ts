import type { Logger } from 'pino';
import type { Bus, EventHandler } from './bus.ts';
import type { DomainEvent } from './events.ts';

/**
 * The Bus on one node: each event goes to every subscriber at once, in the order published, on
 * the publisher's turn of the event loop (a broadcast then costs no extra hop). A subscriber that
 * throws is logged and does not stop the others, nor the publisher.
 */
export class InProcessBus implements Bus {
  private readonly handlers = new Set<EventHandler>();

  constructor(private readonly log: Pick<Logger, 'error'>) {}

  publish(event: DomainEvent): void {
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.log.error({ err: error, event: event.type }, 'an event subscriber failed');
      }
    }
  }

  subscribe(handler: EventHandler): () => void {
    // A wrapper per subscription, so the same function can subscribe twice and unsubscribe once.
    const own: EventHandler = (event) => handler(event);
    this.handlers.add(own);
    return () => this.handlers.delete(own);
  }
}
