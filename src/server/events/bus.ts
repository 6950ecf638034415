/**
 * The Bus port: how committed domain events travel from the node that committed them to every
 * node's delivery layer. In-process on one node (in-process-bus.ts); Redis or NATS across nodes.
 *
 * What an adapter must guarantee (bus-contract.ts checks it, through OrderedDelivery):
 * - every event published after a subscriber subscribed reaches it at least once;
 * - nothing else: an adapter may repeat, reorder or (under faults) lose events. Subscribers put
 *   messages back in per-conversation seq order, drop repeats by seq (messages) or rev (state
 *   changes), and fill a hole from storage after a short wait (ordered-delivery.ts), so the
 *   database stays the log and the bus need not be durable.
 * See docs/ARCHITECTURE.md, "Events and the Bus".
 */
import type { DomainEvent, EventPublisher } from './events.ts';

export type EventHandler = (event: DomainEvent) => void;

export interface Bus extends EventPublisher {
  /** Hands a committed event to every subscriber (on every node). Never throws for a subscriber's failure. */
  publish(event: DomainEvent): void;
  /** Starts delivering events published from now on; returns the function that stops it. */
  subscribe(handler: EventHandler): () => void;
}

/**
 * Which users' events this node needs. A cluster bus sends an event meant for a few users only
 * to the nodes that hear one of them (redis-bus.ts); the gateway hears a user from their first
 * connection's hello to their last connection's close. `hear` resolves once every event
 * published from then on reaches this node, so a catch-up read after it misses nothing: what was
 * committed before is in the read, what comes after arrives live.
 */
export interface Hearing {
  hear(userId: number): Promise<void>;
  stopHearing(userId: number): void;
}

/** One node hears everything: there is nothing to ask for. */
export const HEARS_EVERYONE: Hearing = {
  hear: () => Promise.resolve(),
  stopHearing: () => {},
};
