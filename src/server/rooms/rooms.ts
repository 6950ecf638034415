import {
  type ConversationId,
  type ConversationSummary,
  type InviteReply,
  type RoomDirectoryReply,
  type RoomInfo,
  type RoomMembersReply,
  type UserRef,
} from '../../protocol/index.ts';
import type { CreateRoomBody, UpdateRoomBody } from '../../protocol/index.ts';
import type { z } from 'zod';
import type { roomDirectoryQuery, roomMembersQuery } from '../../protocol/index.ts';
import { nameKeyOf } from '../accounts/names.ts';
import type { PresenceView } from '../chat/presence.ts';
import type { SendLimiter } from '../chat/send-rate.ts';
import type { Clock } from '../clock.ts';
import { ParleyError } from '../errors.ts';
import type { EventPublisher } from '../events/events.ts';
import type { RoomCommit, RoomDetailsChange, RoomResult } from '../storage/room-records.ts';
import type { Store } from '../storage/store.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { publishRoomCommit } from './publish.ts';
import { newRoomId } from './room-id.ts';
import { checkRoomName, checkTopic } from './room-text.ts';

/**
 * Rooms: create, join, leave, invite, remove, rename, topic, visibility, admins, members and the
 * directory. Check (names, topics, that the people exist), then do (one transaction in the store,
 * which re-checks the member's role), then publish what was committed. A room the user may not
 * see (private, not a member) is "not found"; a member whose role does not allow something is
 * told so (ROOM_ADMIN_REQUIRED, ROOM_OWNER_REQUIRED).
 *
 * Every change writes a line every member receives ("bob joined"), so each one takes a send from
 * the actor's budget first, the one their messages take from (chat/send-rate.ts): a loop of joins
 * and leaves is refused with RATE_LIMITED like a flood of messages, before any work is done.
 */
export class Rooms {
  constructor(
    private readonly store: Store,
    private readonly events: EventPublisher,
    private readonly presence: PresenceView,
    private readonly clock: Clock,
    private readonly sendRate: SendLimiter,
  ) {}

  async create(owner: UserRef, body: CreateRoomBody): Promise<ConversationSummary> {
    await this.sendRate.take(owner.id);
    const { name, nameKey } = checkRoomName(body.name);
    const topic = checkTopic(body.topic);
    const invited = await this.users(body.invite.filter((id) => id !== owner.id));
    const conv = newRoomId();
    const commit = await this.store.rooms.create({ conv, name, nameKey, topic, visibility: body.visibility, owner, ts: this.clock.now() }, invited);
    publishRoomCommit(this.events, commit);
    return this.summary(owner, conv);
  }

  async directory(user: UserRef, query: z.output<typeof roomDirectoryQuery>): Promise<RoomDirectoryReply> {
    const after = query.after === undefined ? undefined : decodeCursor(query.after);
    const rows = await this.store.rooms.directory(user.id, { prefix: nameKeyOf(query.q.trim()), limit: query.limit, ...(after ? { after } : {}) });
    const rooms = rows.map(({ nameKey: _key, ...listing }) => listing);
    const last = rows.at(-1);
    return rows.length === query.limit && last ? { rooms, next: encodeCursor({ nameKey: last.nameKey, id: last.id }) } : { rooms };
  }

  /** A room's details: to its members, and to anyone for a public room. */
  async info(user: UserRef, conv: ConversationId): Promise<RoomInfo> {
    const room = await this.store.rooms.info(conv);
    if (!room) throw notFound();
    if (room.visibility !== 'public' && !(await this.store.membership(user.id, conv))) throw notFound();
    return room;
  }

  async join(user: UserRef, conv: ConversationId): Promise<ConversationSummary> {
    await this.sendRate.take(user.id);
    this.done(await this.store.rooms.join(conv, user, this.clock.now()));
    return this.summary(user, conv);
  }

  async leave(user: UserRef, conv: ConversationId): Promise<void> {
    await this.sendRate.take(user.id);
    this.done(await this.store.rooms.leave(conv, user, this.clock.now()));
  }

  async invite(actor: UserRef, conv: ConversationId, userIds: readonly number[]): Promise<InviteReply> {
    await this.sendRate.take(actor.id);
    const users = await this.users(userIds);
    const commit = this.done(await this.store.rooms.invite(conv, actor, users, this.clock.now()));
    return { added: commit.members.filter((m) => m.change === 'joined').map((m) => m.user) };
  }

  /** Removes a member; removing yourself is leaving. */
  async remove(actor: UserRef, conv: ConversationId, userId: number): Promise<void> {
    if (userId === actor.id) return this.leave(actor, conv);
    await this.sendRate.take(actor.id);
    const [user] = await this.users([userId]);
    this.done(await this.store.rooms.remove(conv, actor, user!, this.clock.now()), 'ROOM_ADMIN_REQUIRED');
  }

  async update(actor: UserRef, conv: ConversationId, body: UpdateRoomBody): Promise<RoomInfo> {
    await this.sendRate.take(actor.id);
    const change: RoomDetailsChange = {};
    if (body.name !== undefined) change.name = checkRoomName(body.name);
    if (body.topic !== undefined) change.topic = checkTopic(body.topic);
    if (body.visibility !== undefined) change.visibility = body.visibility;
    return this.done(await this.store.rooms.update(conv, actor, change, this.clock.now()), 'ROOM_ADMIN_REQUIRED').room;
  }

  async setRole(actor: UserRef, conv: ConversationId, userId: number, role: 'admin' | 'member'): Promise<void> {
    await this.sendRate.take(actor.id);
    const [user] = await this.users([userId]);
    this.done(await this.store.rooms.setRole(conv, actor, user!, role, this.clock.now()), 'ROOM_OWNER_REQUIRED');
  }

  async members(user: UserRef, conv: ConversationId, query: z.output<typeof roomMembersQuery>): Promise<RoomMembersReply> {
    if ((await this.store.membership(user.id, conv))?.kind !== 'room') throw notFound();
    const rows = await this.store.rooms.members(conv, { limit: query.limit, ...(query.after === undefined ? {} : { after: query.after }) });
    const members = rows.map((row) => ({ user: row.user, role: row.role, online: this.presence.isOnline(row.user.id) }));
    const last = rows.at(-1);
    return rows.length === query.limit && last ? { members, next: last.nameKey } : { members };
  }

  /** Publishes a committed change, or turns a refusal into its error. */
  private done(result: RoomResult, forbidden: 'ROOM_ADMIN_REQUIRED' | 'ROOM_OWNER_REQUIRED' = 'ROOM_ADMIN_REQUIRED'): RoomCommit {
    if (result === 'not-found') throw notFound();
    if (result === 'forbidden') throw new ParleyError(forbidden);
    publishRoomCommit(this.events, result);
    return result;
  }

  private async summary(user: UserRef, conv: ConversationId): Promise<ConversationSummary> {
    const summary = await this.store.conversationOf(user, conv);
    if (!summary) throw notFound();
    return summary;
  }

  /** The users with these ids, or NOT_FOUND naming the first that does not exist. */
  private async users(ids: readonly number[]): Promise<UserRef[]> {
    const users: UserRef[] = [];
    for (const id of new Set(ids)) {
      const user = await this.store.userById(id);
      if (!user) throw new ParleyError('NOT_FOUND', `No user has the id ${id}.`);
      users.push(user);
    }
    return users;
  }
}

function notFound(): ParleyError {
  return new ParleyError('NOT_FOUND', 'No such room.');
}
