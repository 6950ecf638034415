import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NO_EVENTS, type BusReadBackCause, type ServerEvents } from '../metrics/server-events.ts';
import { connectRedis, REDIS_ANSWER_TIMEOUT_MS } from '../redis/connect.ts';
import type { Bus, EventHandler, Hearing } from './bus.ts';
import { decodeEvents, encodeEvents, encodeResync, envelopePrefix, type BusGap, type Envelope } from './event-codec.ts';
import type { DomainEvent } from './events.ts';
import { InProcessBus } from './in-process-bus.ts';

export const DEFAULT_CHANNEL = 'parley:events';

/** What the bus reports for /metrics. */
export type BusEvents = Pick<ServerEvents, 'busPublished' | 'busPublishFailed' | 'busReceived' | 'busReadBack'>;

/**
 * An event meant for at most this many users (a DM, a read position, a small room's message)
 * goes to those users' channels, so only the nodes holding one of them hear it; a wider one, and
 * one for everyone, goes on the channel every node hears. Parsing an envelope costs a node about
 * as much as delivering it (docs/PERFORMANCE.md), so a small audience should not wake every node,
 * while a wide one would cost a publish per member.
 */
export const ROUTED_AUDIENCE_MAX = 16;

/**
 * How long a `hello` waits for Redis to confirm that this node hears the user. A Redis that
 * holds the connection open but does not answer (paused, swapping) must not keep every new
 * session from starting: past this the catch-up goes ahead, and a confirmation that comes later
 * makes the node read back from the moment it asked (`onResumed`), as after an outage.
 */
export const HEAR_WAIT_MS = 2_000;
/** Channels per SUBSCRIBE when subscribing again after a reconnect (a node may hear thousands of users). */
const SUBSCRIBE_CHUNK = 1000;
/** How many other nodes' last routed turn is remembered, to drop the second copy of an event meant for two of this node's users. */
const ROUTED_NODES_REMEMBERED = 64;
/** After routing stops (a node that does not route joined), what the others may have missed is read back from this far. */
const ROUTING_LOOK_BACK_MS = 30_000;

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
export class RedisBus implements Bus, Hearing {
  private readonly local: InProcessBus;
  private readonly node = randomUUID();
  private readonly resumeHandlers = new Set<(gap: BusGap) => void>();
  private readonly lostHandlers = new Set<() => void>();
  /** When this node's subscriber lost Redis (the cluster's time), until it has subscribed again. */
  private subscriberLostSince: number | null = null;
  /** What this node could not publish (its earliest commit time and state rev), until the other nodes have been told. */
  private failed: BusGap | null = null;
  /** Published on this turn, not yet sent to Redis, and their earliest commit time and state rev. */
  private outgoing: DomainEvent[] = [];
  private outgoingGap: BusGap | null = null;
  /** Every envelope and notice of this node starts so: its own, coming back, are skipped unparsed. */
  private readonly ownPrefix: string;
  /** Users' channels are this plus the user id. */
  private readonly userPrefix: string;
  /** Whether small-audience events go to their users' channels (every node routes; see `routeWhen`). */
  private routing = false;
  /** How many nodes run (see `routeWhen`): a turn for as many users as there are nodes goes to every node instead. */
  private nodes = Number.POSITIVE_INFINITY;
  private turn = 0;
  /** The lowest state rev routed lately, two windows of ROUTING_LOOK_BACK_MS (for the notice when routing stops). */
  private routedRevs: [number | null, number | null] = [null, null];
  private routedRevsWindowAt: number;
  /** Users this node hears (their channels are subscribed, or will be once Redis is back). */
  private readonly heard = new Set<number>();
  private toHear = new Set<number>();
  private toStop = new Set<number>();
  /** Users whose UNSUBSCRIBE failed: ioredis subscribes them again after a reconnect, so they are dropped then. */
  private readonly staleHeard = new Set<number>();
  private hearingSent: Promise<void> | null = null;
  /** Per other node, the places of its current routed turn already delivered. */
  private readonly routedSeen = new Map<string, { turn: number; places: Set<number> }>();

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly log: Pick<Logger, 'error' | 'warn'>,
    private readonly events: BusEvents,
    private readonly now: () => number,
  ) {
    this.local = new InProcessBus(log);
    this.routedRevsWindowAt = now();
    this.ownPrefix = envelopePrefix(this.node);
    this.userPrefix = `${channel}:user:`;
    subscriber.on('close', () => this.subscriberLost());
    subscriber.on('ready', () => void this.resubscribed());
    subscriber.on('message', (from: string, text: string) => {
      if (text.startsWith(this.ownPrefix)) return;
      if (from !== this.channel && !from.startsWith(this.userPrefix)) return;
      const envelope = decodeEvents(text);
      if (!envelope) return this.log.warn({ channel: from }, 'dropped events this version cannot read');
      if (envelope.node === this.node) return;
      if ('resync' in envelope) return this.resumed(envelope.resync, 'notice');
      if (envelope.routed) return this.acceptRouted(envelope, envelope.routed);
      this.events.busReceived(envelope.events.length);
      for (const event of envelope.events) this.local.publish(event);
    });
    publisher.on('ready', () => this.announceResync());
  }

  /** Connects to Redis and subscribes before returning, so no event published after is missed. */
  static async connect(
    url: string,
    log: Pick<Logger, 'error' | 'warn' | 'info'>,
    {
      channel = DEFAULT_CHANNEL,
      events = NO_EVENTS,
      now = Date.now,
    }: {
      channel?: string;
      events?: BusEvents;
      /**
       * The time the bus stamps a possible loss with (BusGap.since), which other nodes compare
       * with the times of the messages they read back: the cluster's time (RedisCluster.time),
       * the same clock messages are stamped with, so that nodes whose clocks disagree still agree.
       */
      now?: () => number;
    } = {},
  ): Promise<RedisBus> {
    const publisher = await connectRedis(url, 'bus-publish', log, { socketTimeout: REDIS_ANSWER_TIMEOUT_MS });
    // Its subscriptions are made again after a reconnect by `resubscribed`, not by ioredis: ioredis's
    // own re-subscribe leaves its promise unhandled, and a Redis lost again at that moment rejected
    // it, an unhandled rejection that ends the process.
    const subscriber = await connectRedis(url, 'bus-subscribe', log, { autoResubscribe: false }).catch(async (error: unknown) => {
      publisher.disconnect();
      throw error;
    });
    const bus = new RedisBus(publisher, subscriber, channel, log, events, now);
    await subscriber.subscribe(channel);
    return bus;
  }

  publish(event: DomainEvent): void {
    const at = this.now();
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
    const failed = () => {
      this.events.busPublishFailed();
      this.publishFailed(gap);
    };
    const published = () => this.events.busPublished(1);
    if (!this.routing) {
      this.publisher.publish(this.channel, encodeEvents(this.node, events)).then(published, failed);
      return;
    }
    const everyNode: DomainEvent[] = [];
    const byUser = new Map<number, { events: DomainEvent[]; places: number[] }>();
    events.forEach((event, place) => {
      const users = routedUsers(event);
      if (users === null) return void everyNode.push(event);
      if (users.length > 0 && 'rev' in event) this.noteRoutedRev(event.rev);
      for (const user of users) {
        let mine = byUser.get(user);
        if (!mine) byUser.set(user, (mine = { events: [], places: [] }));
        mine.events.push(event);
        mine.places.push(place);
      }
    });
    // A turn's events for as many users as there are nodes would wake each node about once
    // anyway, each with an envelope of its own (and this node again with its own users'): one
    // envelope for every node is cheaper then. Safe either way: every node hears this channel.
    if (byUser.size === 0 || byUser.size >= this.nodes) {
      if (byUser.size > 0) return void this.publisher.publish(this.channel, encodeEvents(this.node, events)).then(published, failed);
      if (everyNode.length > 0) this.publisher.publish(this.channel, encodeEvents(this.node, everyNode)).then(published, failed);
      return;
    }
    // One write for the turn: the every-node envelope and one per user the turn's events are for.
    const turn = ++this.turn;
    const pipeline = this.publisher.pipeline();
    if (everyNode.length > 0) pipeline.publish(this.channel, encodeEvents(this.node, everyNode));
    for (const [user, mine] of byUser) pipeline.publish(this.userPrefix + user, encodeEvents(this.node, mine.events, { turn, places: mine.places }));
    pipeline.exec().then((replies) => {
      if (!replies || replies.some(([error]) => error)) failed();
      else this.events.busPublished(replies.length);
    }, failed);
  };

  /** A routed envelope: each event once, though it may come again on another user's channel. */
  private acceptRouted(envelope: Envelope, routed: NonNullable<Envelope['routed']>): void {
    let seen = this.routedSeen.get(envelope.node);
    if (!seen || seen.turn !== routed.turn) {
      this.routedSeen.delete(envelope.node);
      if (this.routedSeen.size >= ROUTED_NODES_REMEMBERED) this.routedSeen.delete(this.routedSeen.keys().next().value!);
      this.routedSeen.set(envelope.node, (seen = { turn: routed.turn, places: new Set() }));
    }
    let fresh = 0;
    envelope.events.forEach((event, i) => {
      const place = routed.places[i]!;
      if (seen.places.has(place)) return;
      seen.places.add(place);
      fresh++;
      this.local.publish(event);
    });
    this.events.busReceived(fresh);
  }

  /**
   * From now on this node hears `userId`'s events: resolves once Redis has confirmed the
   * subscription (or at once while Redis is away: when it is back, every user heard is
   * subscribed again and bus recovery reads what they may have missed). The subscriptions of
   * one turn go in one SUBSCRIBE.
   */
  hear(userId: number): Promise<void> {
    this.heard.add(userId);
    this.toStop.delete(userId);
    this.staleHeard.delete(userId);
    this.toHear.add(userId);
    return this.sendHearing();
  }

  stopHearing(userId: number): void {
    this.heard.delete(userId);
    this.toHear.delete(userId);
    this.toStop.add(userId);
    void this.sendHearing();
  }

  private sendHearing(): Promise<void> {
    this.hearingSent ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.hearingSent = null;
        const stop = [...this.toStop];
        const hear = [...this.toHear];
        this.toStop.clear();
        this.toHear.clear();
        if (stop.length > 0) {
          this.subscriber.unsubscribe(...stop.map((user) => this.userPrefix + user)).catch(() => {
            for (const user of stop) if (!this.heard.has(user)) this.staleHeard.add(user);
          });
        }
        if (hear.length === 0) return resolve();
        const askedAt = this.now();
        let late = false;
        const gaveUp = setTimeout(() => {
          late = true;
          this.log.warn({ users: hear.length, waitedMs: HEAR_WAIT_MS }, 'Redis did not confirm a subscription in time; reading back once it does');
          resolve();
        }, HEAR_WAIT_MS);
        this.subscriber.subscribe(...hear.map((user) => this.userPrefix + user)).then(
          () => {
            clearTimeout(gaveUp);
            if (late) this.resumed({ since: askedAt, rev: null }, 'late_subscription');
            resolve();
          },
          () => {
            // The connection dropped: once it is back, every user heard is subscribed again and the node reads back (resubscribed).
            clearTimeout(gaveUp);
            resolve();
          },
        );
      }),
    );
    return this.hearingSent;
  }

  /**
   * Routes small-audience events to their users' channels only while every node hears those
   * channels (the app asks the node registry at each heartbeat, which also says how many nodes
   * run): a node of an earlier version listens to the every-node channel alone. When routing stops, the nodes that may have missed
   * routed events are told to read them back (a resync notice reaching back ROUTING_LOOK_BACK_MS).
   */
  routeWhen(everyNodeRoutes: boolean, nodes = Number.POSITIVE_INFINITY): void {
    this.nodes = nodes;
    if (everyNodeRoutes === this.routing) return;
    this.routing = everyNodeRoutes;
    if (everyNodeRoutes) return;
    this.rollRoutedRevs();
    const [older, newer] = this.routedRevs;
    const rev = older === null ? newer : newer === null ? older : Math.min(older, newer);
    this.failed = earliest(this.failed, { since: this.now() - 2 * ROUTING_LOOK_BACK_MS, rev });
    if (this.publisher.status === 'ready') this.announceResync();
  }

  private noteRoutedRev(rev: number): void {
    this.rollRoutedRevs();
    const newer = this.routedRevs[1];
    this.routedRevs[1] = newer === null ? rev : Math.min(newer, rev);
  }

  private rollRoutedRevs(): void {
    const now = this.now();
    if (now - this.routedRevsWindowAt < ROUTING_LOOK_BACK_MS) return;
    this.routedRevs = now - this.routedRevsWindowAt < 2 * ROUTING_LOOK_BACK_MS ? [this.routedRevs[1], null] : [null, null];
    this.routedRevsWindowAt = now;
  }

  subscribe(handler: EventHandler): () => void {
    return this.local.subscribe(handler);
  }

  /**
   * Runs `handler` each time events may have been lost and storage should be read now: this
   * node hears the channel again after losing Redis, or another node says it could not publish
   * for a while. `gap.since` is when the loss may have begun (on the cluster's time, as messages are stamped):
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
    this.subscriberLostSince = this.now();
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
      // The common channel and every user this node hears, those whose SUBSCRIBE failed while
      // Redis was away included (ioredis's autoResubscribe is off: see connect).
      const users = [...this.heard].map((user) => this.userPrefix + user);
      await this.subscriber.subscribe(this.channel, ...users.slice(0, SUBSCRIBE_CHUNK));
      for (let from = SUBSCRIBE_CHUNK; from < users.length; from += SUBSCRIBE_CHUNK) {
        await this.subscriber.subscribe(...users.slice(from, from + SUBSCRIBE_CHUNK));
      }
      const stale = [...this.staleHeard].filter((user) => !this.heard.has(user));
      this.staleHeard.clear();
      if (stale.length > 0) void this.subscriber.unsubscribe(...stale.map((user) => this.userPrefix + user)).catch(() => {});
    } catch {
      return; // lost again: the next 'ready' tries again
    }
    const since = this.subscriberLostSince ?? this.now();
    this.subscriberLostSince = null;
    this.resumed({ since, rev: null }, 'reconnected');
  }

  private resumed(gap: BusGap, cause: BusReadBackCause): void {
    this.events.busReadBack(cause);
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

/** The users whose channels an event goes to, or null when it goes to every node. */
function routedUsers(event: DomainEvent): readonly number[] | null {
  if (!('audience' in event) || 'everyone' in event.audience) return null;
  return event.audience.users.length <= ROUTED_AUDIENCE_MAX ? event.audience.users : null;
}

/** The union of two gaps: the earlier time, the lower rev. */
function earliest(a: BusGap | null, b: BusGap): BusGap {
  if (a === null) return b;
  const rev = a.rev === null ? b.rev : b.rev === null ? a.rev : Math.min(a.rev, b.rev);
  return { since: Math.min(a.since, b.since), rev };
}
