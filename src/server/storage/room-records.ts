/**
 * The room part of the storage port. Every change is one transaction that applies the membership
 * or detail change, takes a server-wide `rev` for it, commits the system message that records it
 * (with the conversation's next seq), and reads the members who must hear of it, so what is
 * published is exactly what was committed. Guards (who may do it) are re-checked inside the
 * transaction; the rules themselves are the protocol's (protocol/rooms.ts), shared with clients.
 */
import type {
  ConversationId,
  Message,
  RoomInfo,
  RoomListing,
  RoomRole,
  RoomVisibility,
  UserRef,
} from '../../protocol/index.ts';

export interface NewRoom {
  conv: ConversationId;
  name: string;
  nameKey: string;
  topic: string;
  visibility: RoomVisibility;
  owner: UserRef;
  ts: number;
}

/** One membership that changed, with its rev: `role` null means the user is no longer a member. */
export interface MemberChange {
  user: UserRef;
  /** joined: created, joined or invited; left: left or removed; role: a new role. */
  change: 'joined' | 'left' | 'role';
  role: RoomRole | null;
  rev: number;
}

/** What a committed room change did. */
export interface RoomCommit {
  /** The room as it is after the change (its `rev` is the change's last). */
  room: RoomInfo;
  /** The system messages committed, in seq order. */
  messages: Message[];
  members: MemberChange[];
  /** The rev of a change of the room's details (name, topic, visibility), when there was one. */
  detailsRev: number | null;
  /** The members after the change (those who just left or were removed are not among them). */
  memberIds: number[];
}

/**
 * Where one member of a room stands now, for a node that lost the events of the changes (a Redis
 * outage, events/bus-recovery.ts): their role and the rev of their membership row (a join or a new
 * role), or `role` null and the rev of their last departure (left or removed) with who made it.
 */
export interface MemberState {
  conv: ConversationId;
  user: UserRef;
  role: RoomRole | null;
  rev: number;
  /** Who removed them, or the member themselves (a leave, and any join or role: rows keep no actor). */
  by: UserRef;
  /** The room's member count now. */
  memberCount: number;
}

/** Why a change was not made: no such room for this user, or their role does not allow it. */
export type RoomRefusal = 'not-found' | 'forbidden';

export type RoomResult = RoomCommit | RoomRefusal;

export interface RoomDetailsChange {
  name?: { name: string; nameKey: string };
  topic?: string;
  visibility?: RoomVisibility;
}

export interface RoomRecords {
  /** Creates the room with `owner` as its owner and `invited` as members, and its first system messages. */
  create(room: NewRoom, invited: readonly UserRef[]): Promise<RoomCommit>;
  /** The room's details, or null when no room has this id. */
  info(conv: ConversationId): Promise<RoomInfo | null>;
  /** Joins a public room; refused as not found for a private one. Joining again changes nothing. */
  join(conv: ConversationId, user: UserRef, ts: number): Promise<RoomResult>;
  /** Leaves a room. An owner who leaves hands the room to the longest-standing admin, else member. */
  leave(conv: ConversationId, user: UserRef, ts: number): Promise<RoomResult>;
  /** Adds users as members (any member may); those already in are left out. */
  invite(conv: ConversationId, actor: UserRef, users: readonly UserRef[], ts: number): Promise<RoomResult>;
  /** Removes a member, if `canRemove(actor's role, their role)`. */
  remove(conv: ConversationId, actor: UserRef, user: UserRef, ts: number): Promise<RoomResult>;
  /** Changes name, topic or visibility (owner and admins). */
  update(conv: ConversationId, actor: UserRef, change: RoomDetailsChange, ts: number): Promise<RoomResult>;
  /** Makes a member an admin or a plain member again (the owner only). */
  setRole(conv: ConversationId, actor: UserRef, user: UserRef, role: 'admin' | 'member', ts: number): Promise<RoomResult>;
  /** Public rooms whose name key starts with `prefix`, by name key then id, after the cursor `after`. */
  directory(userId: number, options: { prefix: string; after?: { nameKey: string; id: string }; limit: number }): Promise<(RoomListing & { nameKey: string })[]>;
  /**
   * The members of these rooms who joined, got a new role, left or were removed after `afterRev`
   * (each once, as they stand now), ascending by rev.
   */
  membersChangedSince(convs: readonly ConversationId[], afterRev: number): Promise<MemberState[]>;
  /** The rooms these users left or were removed from after `afterRev` and are still out of, ascending by rev (one read for them all). */
  departuresOf(userIds: readonly number[], afterRev: number): Promise<MemberState[]>;
  /** A page of members by name key, after the name key `after`. */
  members(conv: ConversationId, options: { after?: string; limit: number }): Promise<{ user: UserRef; role: RoomRole; nameKey: string }[]>;
}
