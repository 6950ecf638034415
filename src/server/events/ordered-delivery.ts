import type { Logger } from 'pino';
import type { ConversationId } from '../../protocol/index.ts';
import type { Clock } from '../clock.ts';
import type { EventHandler } from './bus.ts';
import type { DomainEvent, MessageEvent, RevEvent } from './events.ts';

/** Where a subscriber reads messages it did not receive: storage, through the domain (Chat.replay). */
export interface MessageSource {
  /** Messages of `conv` with seq > afterSeq, ascending, at most `limit`, each with its audience as of now. */
  messagesAfter(conv: ConversationId, afterSeq: number, limit: number): Promise<MessageEvent[]>;
  /** The newest messages of `conv` with seq < beforeSeq committed at or after `sinceTs`, ascending, at most `limit`. */
  messagesBefore(conv: ConversationId, beforeSeq: number, sinceTs: number, limit: number): Promise<MessageEvent[]>;
}

export interface OrderedDeliveryOptions {
  /** How long a message that came before an earlier one is held, waiting for it, before storage is asked. */
  holeWaitMs: number;
  /** A conversation's position is forgotten after this long with nothing held (its next event starts it again). */
  idleForgetMs: number;
  /** How many recent state revs are remembered to drop repeats. */
  revWindow: number;
  /**
   * How far the times of the nodes that commit may differ: on the cluster's time (RedisCluster.time),
   * the error of each node's measured offset from Redis's clock and a commit's own duration, not
   * how far the machines' clocks are apart.
   */
  clockSkewMs: number;
  /** Told each time a hole is filled from storage (for /metrics). */
  onHoleFill?: () => void;
}

export const DEFAULT_ORDERED_DELIVERY: OrderedDeliveryOptions = {
  holeWaitMs: 100,
  idleForgetMs: 10 * 60_000,
  revWindow: 10_000,
  clockSkewMs: 1000,
};

/** A position with nothing held and no fill armed; `next` 0 while its start is being found. */
function freshPosition(next: number, touchedAt: number): Position {
  return { next, held: new Map(), cancelFill: null, filling: false, touchedAt };
}

/** Messages read from storage per fill. */
const FILL_BATCH = 500;

interface Position {
  /** The seq to deliver next; 0 while the position is being found (see start). */
  next: number;
  /** Messages that arrived ahead of `next`, by seq. */
  held: Map<number, MessageEvent>;
  cancelFill: (() => void) | null;
  filling: boolean;
  touchedAt: number;
}

/**
 * The subscriber side of the Bus contract (bus.ts): hands events to `deliver` with messages in
 * seq order per conversation, each once, and state changes once per rev. A message that arrives
 * before an earlier one is held; if the earlier one has not come after `holeWaitMs`, it is read
 * from storage, so a hole is filled, never skipped.
 *
 * Where a conversation's order starts: its first message seen (since this subscriber started, or
 * since the conversation was forgotten for being idle) may have overtaken earlier ones. So unless
 * it is seq 1, storage is asked for the messages before it committed since this subscriber could
 * have missed them (since it started, less the clock skew between nodes; or, for a conversation
 * idle and forgotten, since `idleForgetMs` ago; and never from before the earliest hello of the
 * recipients here, less the skew, as they read everything older at hello), and those are
 * delivered first. That read cannot tell what each recipient's catch-up already sent (a node's
 * position is one for all its connections), so it may deliver some of those again, as may an
 * event published after a catch-up read it: each connection drops a message at or below one it
 * was sent (gateway/connection.ts). The bounds keep that extra read and delivery small.
 */
export class OrderedDelivery {
  private readonly positions = new Map<ConversationId, Position>();
  private readonly seenRevs = new Set<number>();
  private readonly stopSweep: () => void;
  private readonly startedAt: number;
  private stopped = false;
  /** The bus is away (see `lost`): idle positions are kept. */
  private away = false;
  private lastRevSeen = 0;

  constructor(
    private readonly source: MessageSource,
    private readonly deliver: EventHandler,
    private readonly clock: Clock,
    private readonly log: Pick<Logger, 'error'>,
    private readonly options: OrderedDeliveryOptions = DEFAULT_ORDERED_DELIVERY,
    private readonly heardSince: (event: MessageEvent) => number | null = () => -Infinity,
  ) {
    this.startedAt = clock.now();
    this.stopSweep = clock.every(options.idleForgetMs, () => this.forgetIdle());
  }

  /** The Bus handler. */
  readonly accept = (event: DomainEvent): void => {
    if (this.stopped) return;
    switch (event.type) {
      case 'message':
        return this.acceptMessage(event);
      case 'membership':
      case 'room':
      case 'file':
        if (this.seenRevs.has(event.rev)) return;
        this.rememberRev(event.rev);
        this.lastRevSeen = Math.max(this.lastRevSeen, event.rev);
        return this.deliver(event);
      default:
        // Presence, read positions, upload progress, session ends: neither stored nor ordered.
        return this.deliver(event);
    }
  };

  /** How many messages are held back, waiting for an earlier one (for tests and metrics). */
  get heldCount(): number {
    let count = 0;
    for (const position of this.positions.values()) count += position.held.size;
    return count;
  }

  /**
   * The bus has lost this subscriber's events for a while (its link to Redis is down): positions
   * are kept, not forgotten for being idle, until `recheck`, so it knows what it delivered.
   */
  lost(): void {
    this.away = true;
  }

  /**
   * For a bus that knows it may have lost events committed from `since` on (Redis came back,
   * another node could not publish): reads from storage and delivers what this subscriber has
   * not, without waiting for a later message to show the hole (the last message of a quiet
   * conversation shows none). For every conversation it follows, the messages after the last one
   * it delivered; for each of `conversations` it does not follow (one it has seen nothing of,
   * e.g. a DM begun during the outage, or one forgotten for being idle), the messages committed
   * from `since` on, less the clock skew between nodes. Repeats are dropped as ever.
   */
  async recheck(since: number, conversations: Iterable<ConversationId> = []): Promise<void> {
    this.away = false;
    const from = Math.max(this.startedAt, since) - this.options.clockSkewMs;
    const unfollowed = [...new Set(conversations)].filter((conv) => !this.positions.has(conv));
    await Promise.all([
      ...[...this.positions].map(async ([conv, position]) => {
        if (position.next === 0) return; // still starting: it reads storage itself
        try {
          // To the end, page by page: what is held may stop short of it (the last messages came from other nodes).
          for (let after = position.next - 1; ; ) {
            const missing = await this.source.messagesAfter(conv, after, FILL_BATCH);
            if (this.stopped) return;
            for (const event of missing) this.acceptMessage(event);
            if (missing.length < FILL_BATCH) return;
            after = missing.at(-1)!.seq;
          }
        } catch (error) {
          this.log.error({ err: error, conv }, 'could not read messages missed while the bus was away');
        }
      }),
      ...unfollowed.map(async (conv) => {
        try {
          const missed = await this.source.messagesBefore(conv, Number.MAX_SAFE_INTEGER, from, FILL_BATCH);
          if (this.stopped || missed.length === 0) return;
          if (!this.positions.has(conv)) {
            // Everything before the first of these was committed before the loss began: it starts here.
            this.positions.set(conv, freshPosition(missed[0]!.seq, this.clock.now()));
          }
          for (const event of missed) this.acceptMessage(event);
        } catch (error) {
          this.log.error({ err: error, conv }, 'could not read messages missed while the bus was away');
        }
      }),
    ]);
  }

  /** The highest state rev delivered so far (0 before any). */
  get lastRev(): number {
    return this.lastRevSeen;
  }

  /**
   * State changes read back from storage after the bus lost some (events/bus-recovery.ts): each
   * whose rev was not delivered yet is delivered, in the order given. Several may share a rev (a
   * join and the room's new member count come from one change), so all are checked before any
   * is remembered.
   */
  refill(events: readonly RevEvent[]): void {
    if (this.stopped) return;
    const fresh = events.filter((event) => !this.seenRevs.has(event.rev));
    for (const event of fresh) this.deliver(event);
    for (const event of fresh) {
      this.rememberRev(event.rev);
      this.lastRevSeen = Math.max(this.lastRevSeen, event.rev);
    }
  }

  stop(): void {
    this.stopped = true;
    this.stopSweep();
    for (const position of this.positions.values()) position.cancelFill?.();
    this.positions.clear();
  }

  private acceptMessage(event: MessageEvent): void {
    let position = this.positions.get(event.conv);
    // Since when the recipients here have heard it: asked only of a message that starts the
    // conversation or shows a hole, not of the next one in order (nearly every message).
    const since = !position || (event.seq > position.next && position.next !== 0) ? this.heardSince(event) : undefined;
    let heardAgain = false;
    if (since === null) {
      // Nobody this message is for is here: a node hears a conversation on the channel every
      // node hears, while the messages routed to its members' channels go elsewhere. There is
      // nothing to deliver, so no hole to fill from storage and no start to look up: the position
      // moves past it, and a member who says hello later starts it afresh (below).
      if (!position) {
        this.positions.set(event.conv, freshPosition(event.seq + 1, this.clock.now()));
        return;
      }
      if (position.filling) return; // the fill in flight moves it on
      position.cancelFill?.();
      position.cancelFill = null;
      position.held.clear();
      position.next = event.seq + 1;
      position.touchedAt = this.clock.now();
      return;
    }
    if (position && since !== undefined && position.held.size === 0 && !position.filling && since > position.touchedAt) {
      // A hole after a quiet spell. With a bus that routes by audience (redis-bus.ts), this node
      // stops hearing a conversation when its last member here leaves, and hears it again when
      // one comes back: that member read everything committed before their hello, so the hole
      // is theirs already. Reading it from storage would delay this message by the hole's wait
      // and hand them up to the whole gap again: start afresh from their hello instead.
      this.positions.delete(event.conv);
      position = undefined;
      heardAgain = true;
    }
    if (!position) {
      position = freshPosition(event.seq === 1 ? 1 : 0, 0);
      this.positions.set(event.conv, position);
      if (position.next === 0) void this.start(event.conv, position, event.seq, since!, heardAgain);
    }
    position.touchedAt = this.clock.now();
    if (event.seq === position.next && position.held.size === 0) {
      // The common case, nearly every message: the next one of its conversation, nothing held
      // (so nothing to release and no fill armed).
      this.deliver(event);
      position.next += 1;
      return;
    }
    if (event.seq < position.next || position.held.has(event.seq)) return; // a repeat
    if (position.next === 0 || event.seq > position.next) {
      position.held.set(event.seq, event);
      if (position.next !== 0) this.armFill(event.conv, position);
      return;
    }
    this.deliver(event);
    position.next += 1;
    this.release(position);
  }

  /** Delivers the held messages that now follow on, in order. */
  private release(position: Position): void {
    for (let held = position.held.get(position.next); held; held = position.held.get(position.next)) {
      position.held.delete(position.next);
      this.deliver(held);
      position.next += 1;
    }
    if (position.held.size === 0) {
      position.cancelFill?.();
      position.cancelFill = null;
    }
  }

  /**
   * Finds where a newly seen conversation's order starts (see the class comment), then delivers
   * from there. `heardFrom`: the earliest hello of the recipients here (Hub.heardSince; -Infinity
   * for a message for everyone), each of whom read what was committed before it at their hello.
   * `heardAgain`: the conversation's position went stale while nobody here heard it (see
   * acceptMessage), so what this node delivered before says nothing.
   */
  private async start(conv: ConversationId, position: Position, firstSeen: number, heardFrom: number, heardAgain: boolean): Promise<void> {
    const skew = this.options.clockSkewMs;
    // Not from before the hello for a conversation first seen or forgotten either: a member
    // away from this node for longer than `idleForgetMs` comes back to a forgotten one, and
    // reading from `idleForgetMs` ago handed them up to ten minutes they had just caught up on.
    const since = heardAgain
      ? Math.max(this.startedAt, heardFrom) - skew
      : Math.max(this.startedAt - skew, this.clock.now() - this.options.idleForgetMs, heardFrom - skew);
    let earlier: MessageEvent[] = [];
    try {
      earlier = await this.source.messagesBefore(conv, firstSeen, since, FILL_BATCH);
    } catch (error) {
      this.log.error({ err: error, conv }, 'could not read where a conversation starts; starting at its first message seen');
    }
    if (this.stopped) return;
    for (const event of earlier) if (!position.held.has(event.seq)) position.held.set(event.seq, event);
    position.next = Math.min(...position.held.keys());
    this.release(position);
    if (position.held.size > 0) this.armFill(conv, position);
  }

  private armFill(conv: ConversationId, position: Position): void {
    if (position.cancelFill || position.filling) return;
    position.cancelFill = this.clock.after(this.options.holeWaitMs, () => void this.fill(conv, position));
  }

  /** Reads the missing messages from storage and delivers them, with whatever was held after them. */
  private async fill(conv: ConversationId, position: Position): Promise<void> {
    position.cancelFill = null;
    if (this.stopped || position.held.size === 0) return;
    position.filling = true;
    try {
      // Every hole up to the last message held, in one read: while the bus is away this node's own
      // messages keep arriving between others' lost ones, and a read per hole (with its wait)
      // fell further behind with every message.
      let lastHeld = 0;
      for (const seq of position.held.keys()) lastHeld = Math.max(lastHeld, seq);
      const missing = await this.source.messagesAfter(conv, position.next - 1, Math.min(FILL_BATCH, lastHeld - position.next));
      if (this.stopped) return;
      this.options.onHoleFill?.();
      for (const event of missing) this.acceptMessage(event);
    } catch (error) {
      this.log.error({ err: error, conv }, 'could not read missing messages; will try again');
    } finally {
      position.filling = false;
      if (!this.stopped && position.held.size > 0) this.armFill(conv, position);
    }
  }

  private rememberRev(rev: number): void {
    this.seenRevs.add(rev);
    if (this.seenRevs.size > this.options.revWindow) {
      // A Set iterates in insertion order: the first is the oldest remembered.
      this.seenRevs.delete(this.seenRevs.values().next().value!);
    }
  }

  private forgetIdle(): void {
    if (this.away) return;
    const before = this.clock.now() - this.options.idleForgetMs;
    for (const [conv, position] of this.positions) {
      if (position.held.size === 0 && !position.filling && position.touchedAt <= before) this.positions.delete(conv);
    }
  }
}
