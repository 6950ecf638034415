import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { connectRedis } from '../redis/connect.ts';
import type { Bus, EventHandler } from './bus.ts';
import { decodeEvent, encodeEvent } from './event-codec.ts';
import type { DomainEvent } from './events.ts';
import { InProcessBus } from './in-process-bus.ts';

export const DEFAULT_CHANNEL = 'parley:events';

/**
 * The Bus across nodes, on Redis pub/sub (docs/ARCHITECTURE.md, "Events and the Bus", says why
 * pub/sub and not streams). An event goes to this node's subscribers at once, on the publisher's
 * turn (as in-process, so this node's clients neither wait for nor depend on Redis), and to
 * every other node through one channel; a node skips its own events coming back.
 *
 * Pub/sub delivers at most once: an event published while Redis or this node's connection to it
 * is away is lost. That is within the Bus contract (bus.ts): subscribers notice a missing
 * message by its seq and read it from the database, which is the log.
 */
export class RedisBus implements Bus {
  private readonly local: InProcessBus;
  private readonly node = randomUUID();
  private readonly resumeHandlers = new Set<() => void>();

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly log: Pick<Logger, 'error' | 'warn'>,
  ) {
    this.local = new InProcessBus(log);
    subscriber.on('ready', () => void this.resubscribed());
    subscriber.on('message', (from: string, text: string) => {
      if (from !== this.channel) return;
      const envelope = decodeEvent(text);
      if (!envelope) return this.log.warn({ channel: from }, 'dropped an event this version cannot read');
      if (envelope.node !== this.node) this.local.publish(envelope.event);
    });
  }

  /** Connects to Redis and subscribes before returning, so no event published after is missed. */
  static async connect(url: string, log: Pick<Logger, 'error' | 'warn' | 'info'>, channel = DEFAULT_CHANNEL): Promise<RedisBus> {
    const publisher = await connectRedis(url, 'bus-publish', log);
    const subscriber = await connectRedis(url, 'bus-subscribe', log).catch(async (error: unknown) => {
      publisher.disconnect();
      throw error;
    });
    const bus = new RedisBus(publisher, subscriber, channel, log);
    await subscriber.subscribe(channel);
    return bus;
  }

  publish(event: DomainEvent): void {
    this.local.publish(event);
    // Lost while Redis is away (see the class comment); connectRedis logs the outage once.
    this.publisher.publish(this.channel, encodeEvent(this.node, event)).catch(() => {});
  }

  subscribe(handler: EventHandler): () => void {
    return this.local.subscribe(handler);
  }

  /**
   * Runs `handler` each time this node hears the channel again after losing Redis: whatever was
   * published meanwhile is lost to it, and the subscriber reads what it can from storage
   * (OrderedDelivery.recheck). Returns the function that stops it.
   */
  onResumed(handler: () => void): () => void {
    this.resumeHandlers.add(handler);
    return () => this.resumeHandlers.delete(handler);
  }

  /** After a reconnect: once Redis has confirmed the subscription, everything later arrives here, so look back now. */
  private async resubscribed(): Promise<void> {
    try {
      // ioredis subscribes again by itself; this one answers after it, on the same connection.
      await this.subscriber.subscribe(this.channel);
    } catch {
      return; // lost again: the next 'ready' tries again
    }
    for (const handler of this.resumeHandlers) {
      try {
        handler();
      } catch (error) {
        this.log.error({ err: error }, 'a handler of the bus resuming failed');
      }
    }
  }

  /** Both connections are up (for /healthz and tests). */
  get connected(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  async close(): Promise<void> {
    await Promise.all([this.publisher, this.subscriber].map((client) => (client.status === 'ready' ? client.quit().catch(() => client.disconnect()) : client.disconnect())));
  }
}
