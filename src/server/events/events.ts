/**
 * Domain events: what the domain publishes after a commit, for the delivery layer to route.
 * Each event says who may hear it (its audience, computed by the domain from data read in the
 * commit's transaction) and where it stands in order (its order key). Whoever delivers events
 * routes them by these two fields and decides nothing else. See docs/ARCHITECTURE.md, "Events".
 */
import type {
  ConversationId,
  ConversationKind,
  ConversationSummary,
  FileCard,
  Message,
  PresenceChange,
  RoomInfo,
  RoomRole,
  UserRef,
} from '../../protocol/index.ts';

/** Everyone connected, or exactly these users (on all of their connections). */
export type Audience = { readonly everyone: true } | { readonly users: readonly number[] };

export const EVERYONE: Audience = { everyone: true };

export function usersAudience(users: Iterable<number>): Audience {
  return { users: [...new Set(users)] };
}

/** A committed message. Order key: (conv, seq), dense per conversation. */
export interface MessageEvent {
  type: 'message';
  conv: ConversationId;
  seq: number;
  convKind: ConversationKind;
  audience: Audience;
  message: Message;
}

/**
 * Someone's membership of a conversation changed: they joined (a role) or left (`role: null`),
 * or their role changed. Order key: the server-wide `rev` of the change. `summary` is the
 * conversation as `user` now sees it, when they have just joined (they are told of it).
 */
export interface MembershipEvent {
  type: 'membership';
  rev: number;
  conv: ConversationId;
  convKind: ConversationKind;
  audience: Audience;
  user: UserRef;
  role: RoomRole | null;
  memberCount: number;
  /** Who made the change: `user` for a join or leave, else who invited, removed or named them. */
  by: UserRef;
  summary?: ConversationSummary;
}

/** A room's details changed (name, topic, visibility). Order key: `rev`. */
export interface RoomEvent {
  type: 'room';
  rev: number;
  audience: Audience;
  room: RoomInfo;
}

/** A file card changed. Order key: `rev` (the card's own). */
export interface FileEvent {
  type: 'file';
  rev: number;
  audience: Audience;
  file: FileCard;
}

/** Not stored and not ordered: the newest one wins, a lost one is replaced by the next. */
export interface FileProgressEvent {
  type: 'fileProgress';
  audience: Audience;
  id: string;
  conv: ConversationId;
  received: number;
  size: number;
}

/** A user's read position moved. Unordered: positions only move forward. */
export interface ReadEvent {
  type: 'read';
  audience: Audience;
  conv: ConversationId;
  seq: number;
  unread: number;
}

export interface PresenceEvent {
  type: 'presence';
  audience: Audience;
  changes: PresenceChange[];
}

/** A session ended (logout): every connection opened with it closes. */
export interface SessionEndedEvent {
  type: 'sessionEnded';
  sessionKey: string;
  /** The close reason the connections are given ("logged out", "replaced by a new login"). */
  reason: string;
}

/**
 * Every session of a user ended (logout everywhere), or every one but the session that changed
 * the password (`except`, its key): every other connection of theirs closes.
 */
export interface AllSessionsEndedEvent {
  type: 'allSessionsEnded';
  userId: number;
  reason: string;
  except?: string;
}

export type DomainEvent =
  | MessageEvent
  | MembershipEvent
  | RoomEvent
  | FileEvent
  | FileProgressEvent
  | ReadEvent
  | PresenceEvent
  | SessionEndedEvent
  | AllSessionsEndedEvent;

/** Events ordered by the server-wide rev (state changes). */
export type RevEvent = MembershipEvent | RoomEvent | FileEvent;

/** Where the domain sends events after a commit (the Bus port's publishing side). */
export interface EventPublisher {
  publish(event: DomainEvent): void;
}
