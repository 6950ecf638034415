import {
  HISTORY_PAGE_DEFAULT,
  dmMembers,
  type ConversationId,
  type ConversationSummary,
  type UserRef,
} from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';
import { usersAudience, type EventPublisher } from '../events/events.ts';
import type { CommitResult, MembershipRecord, PendingMessage, Store } from '../storage/store.ts';
import type { Clock } from '../clock.ts';
import { catchUp, type CatchUpItem } from './catch-up.ts';
import { CommitQueue } from './commit-queue.ts';
import { publishCommitted } from './publish.ts';
import type { SendLimiter } from './send-rate.ts';
import { checkText } from './text.ts';

export interface Ack {
  clientId: string;
  conv: ConversationId;
  seq: number;
  ts: number;
}

/**
 * The chat domain: sending, history and read positions in any conversation the user belongs to.
 * Membership is data (the memberships table), checked where it is used: inside the commit's
 * transaction for a send, by one lookup for a read. Authorization is by scoping: a conversation
 * the user is not a member of is "not found".
 */
export class Chat {
  private readonly queue: CommitQueue;
  /** Users never go away, so a user seen once can be taken as existing (no single-writer assumption). */
  private readonly knownUsers = new Map<number, UserRef>();
  /** Per sender with a send on its way to the commit queue, when that send is queued (or refused). */
  private readonly lastEnqueued = new Map<number, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    private readonly sendRate: SendLimiter,
  ) {
    this.queue = new CommitQueue(store, (result) => publishCommitted(events, result));
  }

  /**
   * Sends a text message. The rate limit is the user's, whatever connection or route the send
   * comes through (one budget for all their tabs and scripts); it is checked first, so a flood
   * costs no validation or storage work.
   */
  async send(sender: UserRef, conv: ConversationId, clientId: string, text: string): Promise<Ack> {
    const prepared = (async () => {
      // In this process the limiter answers at once: awaiting only a shared (Redis) limiter's
      // answer spares every send a turn of the microtask queue.
      const taken = this.sendRate.take(sender.id);
      if (taken) await taken;
      checkText(text);
      return this.withDirect({ conv, sender, clientId, text, ts: 0 });
    })();
    // Stamped when it is queued: a sender's messages carry times in the order they are stored.
    const result = await this.inSendOrder(sender.id, prepared, (pending) => ({ ...pending, ts: this.clock.now() }));
    if (!result.ok) throw notFound();
    const { message } = result;
    return { clientId, conv: message.conv, seq: message.seq, ts: message.ts };
  }

  /**
   * Takes one send from the user's budget (or throws RATE_LIMITED), for what writes a message by
   * another path than send(): a file offer is a message the other member receives, like a text.
   */
  async takeSend(userId: number): Promise<void> {
    await this.sendRate.take(userId);
  }

  /** Commits a message (a text, or a file offer that files/files.ts built and checked). */
  async commitMessage(pending: PendingMessage): Promise<Extract<CommitResult, { ok: true }>> {
    const result = await this.inSendOrder(pending.sender.id, this.withDirect(pending));
    if (!result.ok) throw notFound();
    return result;
  }

  /**
   * Queues a send once what it awaited before (`prepared`: the shared send limit, a DM peer's
   * lookup, started at once for every send) is done AND the sender's previous send was queued or
   * refused. Those answers come back in any order on PostgreSQL and Redis (a pool's connections
   * race), and a sender's messages must be stored in the order they were sent. The chain orders
   * the enqueues only: the round trips of a sender's sends still overlap, and the chain never
   * waits for a commit, so one sender's messages still share batches.
   */
  private inSendOrder(
    senderId: number,
    prepared: Promise<PendingMessage>,
    finish: (pending: PendingMessage) => PendingMessage = (pending) => pending,
  ): Promise<CommitResult> {
    // A refusal (RATE_LIMITED, say) may come before the chain reaches this send: marked as
    // handled now, or the process would see an unhandled rejection; the chain still passes it on.
    prepared.catch(() => undefined);
    const previous = this.lastEnqueued.get(senderId);
    const ready = previous ? previous.then(() => prepared) : prepared;
    // Wrapped, so that the commit's promise is handed on, not awaited, by the chain.
    const queued = ready.then((pending) => ({ commit: this.queue.enqueue(finish(pending)) }));
    const settled = queued.then(
      () => undefined,
      () => undefined,
    );
    this.lastEnqueued.set(senderId, settled);
    void settled.then(() => {
      if (this.lastEnqueued.get(senderId) === settled) this.lastEnqueued.delete(senderId);
    });
    return queued.then(({ commit }) => commit);
  }

  /** For the first message of a DM, the two members it is created with. */
  private async withDirect(pending: PendingMessage): Promise<PendingMessage> {
    const direct = await this.directMembers(pending.sender, pending.conv);
    return direct ? { ...pending, direct } : pending;
  }

  /**
   * What a reconnecting user missed since their cursors and file rev, in conversations they are
   * still a member of (checked here), item by item (chat/catch-up.ts).
   */
  catchUp(
    user: UserRef,
    cursors: Readonly<Record<ConversationId, number>>,
    fileRev: number | undefined,
    options: { rooms: boolean; fileBatch: number },
  ): AsyncGenerator<CatchUpItem> {
    return catchUp(this.store, user, { cursors, fileRev, ...options });
  }

  async history(user: UserRef, conv: ConversationId, limit = HISTORY_PAGE_DEFAULT, before?: number) {
    await this.membership(user, conv);
    return this.store.page(conv, limit, before);
  }

  conversationsOf(user: UserRef): Promise<ConversationSummary[]> {
    return this.store.conversationsOf(user);
  }

  async markRead(user: UserRef, conv: ConversationId, seq: number): Promise<void> {
    await this.membership(user, conv);
    const { readSeq, unread } = await this.store.markRead(user.id, conv, seq);
    this.events.publish({ type: 'read', audience: usersAudience([user.id]), conv, seq: readSeq, unread });
  }

  /** Waits for every accepted send to be committed. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  /** The user's membership of `conv`, or NOT_FOUND. */
  async membership(user: UserRef, conv: ConversationId): Promise<MembershipRecord> {
    const membership = await this.store.membership(user.id, conv);
    if (!membership) throw notFound();
    return membership;
  }

  /**
   * For a DM id naming the sender and an existing user, the two members, so that its first
   * message can create it. The id is parsed only here, to create the conversation; once it
   * exists, who may read and hear it comes from its memberships like any other.
   */
  private async directMembers(sender: UserRef, conv: ConversationId): Promise<[UserRef, UserRef] | null> {
    const ids = dmMembers(conv);
    if (!ids || !ids.includes(sender.id)) return null;
    const peerId = ids[0] === sender.id ? ids[1] : ids[0];
    const peer = await this.user(peerId);
    if (!peer) return null;
    return ids[0] === sender.id ? [sender, peer] : [peer, sender];
  }

  private async user(id: number): Promise<UserRef | null> {
    const known = this.knownUsers.get(id);
    if (known) return known;
    const user = await this.store.userById(id);
    if (user) this.knownUsers.set(id, user);
    return user;
  }
}

function notFound(): ParleyError {
  return new ParleyError('NOT_FOUND', 'No such conversation.');
}
