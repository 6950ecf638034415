import type { Logger } from 'pino';
import type { ConversationId, ConversationSummary, FileCard, RoomInfo, UserRef } from '../../protocol/index.ts';
import type { MemberState } from '../storage/room-records.ts';
import type { MembershipChange } from '../storage/store.ts';
import type { BusGap } from './event-codec.ts';
import { usersAudience, type RevEvent } from './events.ts';
import type { OrderedDelivery } from './ordered-delivery.ts';

/** What recovery reads: who is connected to this node, and what they belong to and hold (storage). */
export interface RecoverySource {
  /** The users with a connection on this node now. */
  localUsers(): Iterable<UserRef>;
  /** The conversations `user` belongs to now. */
  conversationsOf(user: UserRef): Promise<ConversationSummary[]>;
  /** These users' memberships made or changed after `afterRev`, ascending by rev. */
  membershipsChangedSince(userIds: readonly number[], afterRev: number): Promise<MembershipChange[]>;
  /** Where the members of these rooms changed after `afterRev` stand now (joined, new role, left, removed), ascending by rev. */
  roomMembersChangedSince(convs: readonly ConversationId[], afterRev: number): Promise<MemberState[]>;
  /** The rooms these users left or were removed from after `afterRev` (and are still out of), ascending by rev. */
  departuresOf(userIds: readonly number[], afterRev: number): Promise<MemberState[]>;
  /** The user's file cards changed after `afterRev`, ascending by rev, at most `limit`. */
  filesChangedSince(userId: number, afterRev: number, limit: number): Promise<FileCard[]>;
}

/** Users whose conversations are read at once (a bounded load on the database after an outage). */
const PARALLEL_READS = 4;
/** File cards read per query. */
const FILE_BATCH = 500;
/**
 * After this node's own link to Redis dropped, state changes this far below the highest rev it
 * had delivered are checked again too: others' events in flight when the link dropped may carry
 * lower revs. Below OrderedDelivery's rev window, so those it did deliver are known.
 */
export const REV_MARGIN = 1000;

/**
 * What a node does when its bus says events may have been lost (docs/ARCHITECTURE.md, "Across
 * nodes"): Redis came back after this node lost it, or another node could not publish for a
 * while. A lost message shows itself only when a later one of its conversation arrives, and a
 * quiet conversation has none; a lost state change shows itself never. So, for every user
 * connected here, it reads from storage and delivers, through OrderedDelivery (once per seq or
 * rev, to the same connections live delivery would reach):
 * - the conversations they joined meanwhile (a DM begun, a room joined: `conversation` frames),
 *   where every member of their rooms changed meanwhile stands now (joined, a new role, left or
 *   removed: `member` frames, each at the rev of the member's last change, so that the member
 *   lists their clients hold come out as the room's), the rooms they left or were removed from
 *   meanwhile (a `member` frame about themselves, as live), and the current details of their
 *   rooms changed meanwhile (name, topic, visibility, member count), first, as live delivery
 *   tells of them before the messages of the change;
 * - every message of their conversations this node did not deliver (OrderedDelivery.recheck:
 *   after the last one delivered where it follows the conversation, else everything committed
 *   since the loss began);
 * - their file cards changed meanwhile.
 * Gaps that come while one recovery runs are merged into one more pass after it.
 */
export class BusRecovery {
  private running: Promise<void> | null = null;
  private pending: BusGap | null = null;
  /** The highest rev delivered when this node's own link dropped, until it is back. */
  private lostAtRev: number | null = null;

  /**
   * `startRev`: the last rev in storage when this node subscribed (Store.lastRev); changes up to
   * it are older than the node, and its clients got them at `hello`.
   */
  constructor(
    private readonly delivery: OrderedDelivery,
    private readonly source: RecoverySource,
    private readonly log: Pick<Logger, 'error' | 'info'>,
    private readonly startRev: number,
  ) {}

  /** The bus lost Redis: keep what was delivered until `resumed`. */
  lost(): void {
    this.delivery.lost();
    this.lostAtRev ??= Math.max(this.startRev, this.delivery.lastRev);
  }

  /** Events from `gap` on may be missing here: read and deliver them. Resolves when every pass asked for so far is done. */
  resumed(gap: BusGap): Promise<void> {
    let rev = gap.rev;
    if (this.lostAtRev !== null) {
      // The first resume after this node's own loss is its own (no notice reaches a node without its subscriber).
      rev = minRev(rev, Math.max(this.startRev + 1, this.lostAtRev - REV_MARGIN));
      this.lostAtRev = null;
    }
    this.pending = this.pending === null ? { since: gap.since, rev } : { since: Math.min(this.pending.since, gap.since), rev: minRev(this.pending.rev, rev) };
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
    const summaries = new Map<number, ConversationSummary[]>();
    await eachLimited(users, PARALLEL_READS, async (user) => {
      summaries.set(user.id, await this.source.conversationsOf(user));
    });
    // Changes up to startRev are older than this node: its clients got them at hello.
    const since = gap.rev === null ? null : Math.max(gap.rev - 1, this.startRev);
    // As live: who joined or left, then the room's details, then the messages (publishRoomCommit's order).
    // One refill: a member's change and the room's new member count share a rev.
    if (since !== null) {
      this.delivery.refill([
        ...(await this.joined(users, summaries, since)),
        ...(await this.membersChanged(users, summaries, since)),
        ...this.roomsChanged(summaries, since),
      ]);
    }
    const conversations = new Set<ConversationId>();
    for (const list of summaries.values()) for (const summary of list) conversations.add(summary.id);
    await this.delivery.recheck(gap.since, conversations);
    // A card's later changes after its offer message.
    if (since !== null) this.delivery.refill(await this.filesChanged(users, since));
    this.log.info({ users: users.length, conversations: conversations.size, rev: gap.rev }, 'read what the bus may have lost');
  }

  /** A `membership` event (with the conversation as the user sees it now) for each DM a local user joined after `afterRev` (rooms: membersChanged). */
  private async joined(users: UserRef[], summaries: Map<number, ConversationSummary[]>, afterRev: number): Promise<RevEvent[]> {
    const events: RevEvent[] = [];
    const byId = new Map(users.map((user) => [user.id, user]));
    for (const { userId, conv, rev } of await this.source.membershipsChangedSince([...byId.keys()], afterRev)) {
      const user = byId.get(userId);
      const summary = summaries.get(userId)?.find((each) => each.id === conv);
      if (!user || !summary || summary.kind !== 'dm') continue;
      // Told to this user only: other members learn of the room's new count from its `room` event.
      events.push({
        type: 'membership',
        rev,
        conv,
        convKind: summary.kind,
        audience: usersAudience([]),
        user,
        role: summary.role ?? 'member',
        memberCount: summary.room?.memberCount ?? 2,
        by: user,
        summary,
      });
    }
    return events;
  }

  /**
   * A `membership` event for every member of a local user's room whose membership changed after
   * `afterRev`, as they stand now: their role at the rev of their row (a join or a new role), or
   * `role: null` at the rev of their last departure, by whoever removed them. To the room's local
   * members, and to a local user who is out (live, the departed hear of their own departure); a
   * local user who is in, and joined meanwhile, first learns of the room itself (`summary`).
   */
  private async membersChanged(users: UserRef[], summaries: Map<number, ConversationSummary[]>, afterRev: number): Promise<RevEvent[]> {
    const local = new Set(users.map((user) => user.id));
    const rooms = new Map<ConversationId, number[]>();
    for (const [userId, list] of summaries) {
      for (const { room } of list) {
        // Any change of a room's members moves its rev: a room not moved since has none to tell.
        if (!room || room.rev <= afterRev) continue;
        const members = rooms.get(room.id) ?? [];
        members.push(userId);
        rooms.set(room.id, members);
      }
    }
    const states = new Map<string, MemberState>();
    const key = (state: MemberState) => `${state.conv} ${state.user.id} ${state.rev}`;
    for (const state of await this.source.roomMembersChangedSince([...rooms.keys()], afterRev)) states.set(key(state), state);
    for (const state of await this.source.departuresOf([...local], afterRev)) states.set(key(state), state);
    return [...states.values()]
      .sort((x, y) => x.rev - y.rev)
      .map((state): RevEvent => {
        const audience = [...(rooms.get(state.conv) ?? [])];
        if (state.role === null && local.has(state.user.id)) audience.push(state.user.id);
        const summary = state.role === null ? undefined : summaries.get(state.user.id)?.find((each) => each.id === state.conv);
        return {
          type: 'membership',
          rev: state.rev,
          conv: state.conv,
          convKind: 'room',
          audience: usersAudience(audience),
          user: state.user,
          role: state.role,
          memberCount: state.memberCount,
          by: state.by,
          ...(summary ? { summary } : {}),
        };
      });
  }

  /** A `room` event with its current details for each room of a local user changed after `afterRev`, to its local members. */
  private roomsChanged(summaries: Map<number, ConversationSummary[]>, afterRev: number): RevEvent[] {
    const rooms = new Map<ConversationId, { room: RoomInfo; members: number[] }>();
    for (const [userId, list] of summaries) {
      for (const { room } of list) {
        if (!room || room.rev <= afterRev) continue;
        const entry = rooms.get(room.id) ?? { room, members: [] };
        entry.members.push(userId);
        rooms.set(room.id, entry);
      }
    }
    return [...rooms.values()].map(({ room, members }) => ({ type: 'room', rev: room.rev, audience: usersAudience(members), room }));
  }

  /** A `file` event for each card of a local user changed after `afterRev`, to both its members. */
  private async filesChanged(users: UserRef[], afterRev: number): Promise<RevEvent[]> {
    const cards = new Map<number, FileCard>();
    await eachLimited(users, PARALLEL_READS, async (user) => {
      for (let after = afterRev; ; ) {
        const page = await this.source.filesChangedSince(user.id, after, FILE_BATCH);
        for (const card of page) cards.set(card.rev, card);
        if (page.length < FILE_BATCH) return;
        after = page.at(-1)!.rev;
      }
    });
    return [...cards.values()].map((file) => ({ type: 'file', rev: file.rev, audience: usersAudience([file.from.id, file.to.id]), file }));
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
