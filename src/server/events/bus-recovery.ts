import type { Logger } from 'pino';
import type { ConversationId, ConversationSummary, UserRef } from '../../protocol/index.ts';
import type { BusGap } from './event-codec.ts';
import type { OrderedDelivery } from './ordered-delivery.ts';

/** What recovery reads: who is connected to this node, and what they belong to (storage). */
export interface RecoverySource {
  /** The users with a connection on this node now. */
  localUsers(): Iterable<UserRef>;
  /** The conversations `user` belongs to now. */
  conversationsOf(user: UserRef): Promise<ConversationSummary[]>;
}

/** Users whose conversations are read at once (a bounded load on the database after an outage). */
const PARALLEL_READS = 4;

/**
 * What a node does when its bus says events may have been lost (docs/ARCHITECTURE.md, "Across
 * nodes"): Redis came back after this node lost it, or another node could not publish for a
 * while. A lost message shows itself only when a later one of its conversation arrives, and a
 * quiet conversation has none; so every conversation any user connected here belongs to is
 * checked now against storage (OrderedDelivery.recheck: after the last message delivered where
 * it follows the conversation, else everything committed since the loss began), and what is
 * missing is delivered, once, in order. Gaps that come while one recovery runs are merged into
 * one more pass after it.
 */
export class BusRecovery {
  private running: Promise<void> | null = null;
  private pending: BusGap | null = null;

  constructor(
    private readonly delivery: OrderedDelivery,
    private readonly source: RecoverySource,
    private readonly log: Pick<Logger, 'error' | 'info'>,
  ) {}

  /** The bus lost Redis: keep what was delivered until `resumed`. */
  lost(): void {
    this.delivery.lost();
  }

  /** Events from `gap` on may be missing here: read and deliver them. Resolves when every pass asked for so far is done. */
  resumed(gap: BusGap): Promise<void> {
    this.pending = this.pending === null ? gap : { since: Math.min(this.pending.since, gap.since), rev: minRev(this.pending.rev, gap.rev) };
    this.running ??= this.drain();
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending !== null) {
      const gap = this.pending;
      this.pending = null;
      try {
        await this.recover(gap);
      } catch (error) {
        this.log.error({ err: error }, 'could not read what was missed while the bus was away');
      }
    }
    this.running = null;
  }

  private async recover(gap: BusGap): Promise<void> {
    const users = [...new Map([...this.source.localUsers()].map((user) => [user.id, user])).values()];
    const conversations = new Set<ConversationId>();
    await eachLimited(users, PARALLEL_READS, async (user) => {
      for (const summary of await this.source.conversationsOf(user)) conversations.add(summary.id);
    });
    await this.delivery.recheck(gap.since, conversations);
    this.log.info({ users: users.length, conversations: conversations.size }, 'read what the bus may have lost');
  }
}

function minRev(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** Runs `each` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await each(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
