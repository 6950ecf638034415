import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { connectRedis } from '../redis/connect.ts';
import type { Bus, EventHandler } from './bus.ts';
import { decodeEvents, encodeEvents, encodeResync, type BusGap } from './event-codec.ts';
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
 * message by its seq and read it from the database, which is the log. A message lost last in a
 * quiet conversation shows no hole, so the bus also says when events may have been lost
 * (`onResumed`), on either side of Redis:
 * - this node's subscriber connection came back: whatever was published while it was away
 *   missed this node;
 * - another node's publishing connection came back after publishes failed: what it could not
 *   publish missed every node. It says so on the channel (a resync notice, event-codec.ts) once
 *   its publisher is ready again; a node whose subscriber was away then reads storage when its
 *   own subscriber comes back, which is later, so nothing falls between the two.
 */
export class RedisBus implements Bus {
  private readonly local: InProcessBus;
  private readonly node = randomUUID();
  private readonly resumeHandlers = new Set<(gap: BusGap) => void>();
  private readonly lostHandlers = new Set<() => void>();
  /** When this node's subscriber lost Redis (its clock), until it has subscribed again. */
  private subscriberLostSince: number | null = null;
  /** What this node could not publish (its earliest commit time and state rev), until the other nodes have been told. */
  private failed: BusGap | null = null;
  /** Published on this turn, not yet sent to Redis, and their earliest commit time and state rev. */
  private outgoing: DomainEvent[] = [];
  private outgoingGap: BusGap | null = null;

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly log: Pick<Logger, 'error' | 'warn'>,
  ) {
    this.local = new InProcessBus(log);
    subscriber.on('close', () => this.subscriberLost());
    subscriber.on('ready', () => void this.resubscribed());
    subscriber.on('message', (from: string, text: string) => {
      if (from !== this.channel) return;
      const envelope = decodeEvents(text);
      if (!envelope) return this.log.warn({ channel: from }, 'dropped events this version cannot read');
      if (envelope.node === this.node) return;
      if ('resync' in envelope) return this.resumed(envelope.resync);
      for (const event of envelope.events) this.local.publish(event);
    });
    publisher.on('ready', () => this.announceResync());
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
    const at = Date.now();
    this.local.publish(event);
    // The events of this turn (a commit batch publishes all of its messages in one loop) leave in
    // one envelope, at the end of the turn: one publish per batch, not per message.
    this.outgoingGap = earliest(this.outgoingGap, { since: at, rev: 'rev' in event ? event.rev : null });
    if (this.outgoing.push(event) === 1) queueMicrotask(this.sendOutgoing);
  }

  private readonly sendOutgoing = (): void => {
    const events = this.outgoing;
    const gap = this.outgoingGap!;
    this.outgoing = [];
    this.outgoingGap = null;
    // Lost while Redis is away (see the class comment); connectRedis logs the outage once. The
    // other nodes are told to look in storage once this connection is back (announceResync).
    this.publisher.publish(this.channel, encodeEvents(this.node, events)).catch(() => this.publishFailed(gap));
  };

  subscribe(handler: EventHandler): () => void {
    return this.local.subscribe(handler);
  }

  /**
   * Runs `handler` each time events may have been lost and storage should be read now: this
   * node hears the channel again after losing Redis, or another node says it could not publish
   * for a while. `gap.since` is when the loss may have begun (the clock of the node that saw it):
   * anything committed from then on may be missing here (OrderedDelivery.recheck reads it);
   * `gap.rev` is the first state change another node could not publish (null after this node's
   * own reconnect: the subscriber knows what it had seen). Returns the function that stops it.
   */
  onResumed(handler: (gap: BusGap) => void): () => void {
    this.resumeHandlers.add(handler);
    return () => this.resumeHandlers.delete(handler);
  }

  /** Runs `handler` when this node's subscriber loses Redis (until `onResumed` handlers run). */
  onLost(handler: () => void): () => void {
    this.lostHandlers.add(handler);
    return () => this.lostHandlers.delete(handler);
  }

  private subscriberLost(): void {
    if (this.subscriberLostSince !== null) return;
    this.subscriberLostSince = Date.now();
    for (const handler of this.lostHandlers) {
      try {
        handler();
      } catch (error) {
        this.log.error({ err: error }, 'a handler of the bus losing Redis failed');
      }
    }
  }

  /** After a reconnect: once Redis has confirmed the subscription, everything later arrives here, so look back now. */
  private async resubscribed(): Promise<void> {
    try {
      // ioredis subscribes again by itself; this one answers after it, on the same connection.
      await this.subscriber.subscribe(this.channel);
    } catch {
      return; // lost again: the next 'ready' tries again
    }
    const since = this.subscriberLostSince ?? Date.now();
    this.subscriberLostSince = null;
    this.resumed({ since, rev: null });
  }

  private resumed(gap: BusGap): void {
    for (const handler of this.resumeHandlers) {
      try {
        handler(gap);
      } catch (error) {
        this.log.error({ err: error }, 'a handler of the bus resuming failed');
      }
    }
  }

  private publishFailed(lost: BusGap): void {
    this.failed = earliest(this.failed, lost);
    // Failed on a connection that is already back (it dropped and reconnected meanwhile): say so now.
    if (this.publisher.status === 'ready') this.announceResync();
  }

  /** Tells every other node that some of this node's events did not go out (see `failed`). */
  private announceResync(): void {
    const gap = this.failed;
    if (gap === null) return;
    this.failed = null;
    this.publisher.publish(this.channel, encodeResync(this.node, gap)).catch(() => {
      // Lost too: keep it, and say it once the connection is ready again.
      this.failed = earliest(this.failed, gap);
    });
  }

  /** Both connections are up (for /healthz and tests). */
  get connected(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  async close(): Promise<void> {
    await Promise.all([this.publisher, this.subscriber].map((client) => (client.status === 'ready' ? client.quit().catch(() => client.disconnect()) : client.disconnect())));
  }
}

/** The union of two gaps: the earlier time, the lower rev. */
function earliest(a: BusGap | null, b: BusGap): BusGap {
  if (a === null) return b;
  const rev = a.rev === null ? b.rev : b.rev === null ? a.rev : Math.min(a.rev, b.rev);
  return { since: Math.min(a.since, b.since), rev };
}
