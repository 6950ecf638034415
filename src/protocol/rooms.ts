/**
 * Rooms: group conversations with a name, a topic and members (docs/PROTOCOL.md, "Rooms").
 * Zod-free, so the browser bundle can import the types and constants without the schemas
 * (those are in room-schemas.ts).
 */
import type { ConversationId } from './conversations.ts';
import type { UserRef } from './users.ts';

/** `public`: listed in the directory, anyone may join and read its history. `private`: invited members only. */
export type RoomVisibility = 'public' | 'private';
export const ROOM_VISIBILITIES: readonly RoomVisibility[] = ['public', 'private'];

/** The owner (one per room) and the admins they name may rename, set the topic and visibility, and remove members. */
export type RoomRole = 'owner' | 'admin' | 'member';

/** A room's shared details: what its members, and the directory for a public room, see. */
export interface RoomInfo {
  id: ConversationId;
  name: string;
  /** May be empty. */
  topic: string;
  visibility: RoomVisibility;
  memberCount: number;
  /** The server-wide `rev` of the room's last change (details or membership): keep the newest. */
  rev: number;
}

/** A room in the public directory. */
export interface RoomListing extends RoomInfo {
  /** Whether the asking user is a member. */
  joined: boolean;
}

export interface RoomMember {
  user: UserRef;
  role: RoomRole;
  online: boolean;
}

/** Someone found in the people directory. */
export interface Person extends UserRef {
  online: boolean;
}

/**
 * What a system message records, in `Message.system`. The message's `sender` is who did it;
 * its `text` says the same in English for clients that show text only.
 */
export type SystemEvent =
  | { kind: 'created'; name: string }
  | { kind: 'joined' }
  | { kind: 'left' }
  | { kind: 'invited'; user: UserRef }
  | { kind: 'removed'; user: UserRef }
  | { kind: 'renamed'; name: string; from: string }
  | { kind: 'topic'; topic: string }
  | { kind: 'visibility'; visibility: RoomVisibility }
  | { kind: 'role'; user: UserRef; role: RoomRole };

export type SystemEventKind = SystemEvent['kind'];

/** Room names: 1-64 code points after trimming, any script, no control characters. */
export const ROOM_NAME_MAX_CODE_POINTS = 64;
/** Topics: at most 250 code points, one line, no control characters. */
export const ROOM_TOPIC_MAX_CODE_POINTS = 250;
/** People invited by one request (creating a room or inviting to one). */
export const ROOM_INVITE_MAX = 100;
/** Rooms per directory page, members per page, people per page: the default and the most one request may ask for. */
export const ROOM_DIRECTORY_PAGE_MAX = 100;
export const ROOM_MEMBERS_PAGE_MAX = 1000;
export const PEOPLE_PAGE_DEFAULT = 20;
export const PEOPLE_PAGE_MAX = 100;

export const roomUrls = {
  collection: '/api/rooms',
  room: (conv: ConversationId) => `/api/rooms/${encodeURIComponent(conv)}`,
  join: (conv: ConversationId) => `/api/rooms/${encodeURIComponent(conv)}/join`,
  leave: (conv: ConversationId) => `/api/rooms/${encodeURIComponent(conv)}/leave`,
  members: (conv: ConversationId) => `/api/rooms/${encodeURIComponent(conv)}/members`,
  member: (conv: ConversationId, userId: number) => `/api/rooms/${encodeURIComponent(conv)}/members/${userId}`,
  people: '/api/people',
};

/** `POST /api/rooms` body. */
export interface CreateRoomRequest {
  name: string;
  topic?: string;
  visibility: RoomVisibility;
  /** Users to add as members at once (at most ROOM_INVITE_MAX). */
  invite?: number[];
}

/** `PATCH /api/rooms/:conv` body: any of the three; owner and admins only. */
export interface UpdateRoomRequest {
  name?: string;
  topic?: string;
  visibility?: RoomVisibility;
}

export interface RoomDirectoryReply {
  rooms: RoomListing[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}

export interface RoomMembersReply {
  members: RoomMember[];
  next?: string;
}

export interface PeopleReply {
  people: Person[];
  next?: string;
}

export interface InviteReply {
  /** Who became a member (people already in the room are left out). */
  added: UserRef[];
}

/** Whether a member with this role may rename the room, set its topic and visibility. */
export function canManageRoom(role: RoomRole | null | undefined): boolean {
  return role === 'owner' || role === 'admin';
}

/** Whether `actor` may remove `target`: the owner anyone else; an admin plain members; no one the owner. */
export function canRemove(actor: RoomRole | null | undefined, target: RoomRole): boolean {
  if (target === 'owner') return false;
  return actor === 'owner' || (actor === 'admin' && target === 'member');
}

/** Only the owner names and unnames admins. */
export function canSetRoles(role: RoomRole | null | undefined): boolean {
  return role === 'owner';
}

/** The English text of a system message, for clients that show text only (others translate `system`). */
export function systemText(sender: UserRef, event: SystemEvent): string {
  switch (event.kind) {
    case 'created':
      return `${sender.name} created the room ${event.name}`;
    case 'joined':
      return `${sender.name} joined`;
    case 'left':
      return `${sender.name} left`;
    case 'invited':
      return `${sender.name} invited ${event.user.name}`;
    case 'removed':
      return `${sender.name} removed ${event.user.name}`;
    case 'renamed':
      return `${sender.name} renamed the room from ${event.from} to ${event.name}`;
    case 'topic':
      return event.topic === '' ? `${sender.name} cleared the topic` : `${sender.name} set the topic: ${event.topic}`;
    case 'visibility':
      return `${sender.name} made the room ${event.visibility}`;
    case 'role':
      return event.role === 'owner'
        ? `${event.user.name} is now the owner`
        : event.role === 'admin'
          ? `${sender.name} made ${event.user.name} an admin`
          : `${sender.name} made ${event.user.name} a member`;
  }
}
