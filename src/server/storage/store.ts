/**
 * The storage port. The chat logic talks only to this interface; SQLite implements it today
 * (storage/sqlite), PostgreSQL can tomorrow: every adapter passes storage/store-contract.ts.
 * Methods are async so that a networked database fits the same shape; the SQLite adapter
 * answers synchronously inside them.
 *
 * No adapter may assume it is the database's only writer: sequence numbers, revs and the
 * members of a conversation are read inside the transaction that uses them, never from a cache
 * of an earlier one, so several server processes can share one database.
 */
import type {
  ConversationId,
  ConversationKind,
  ConversationSummary,
  Message,
  RoomRole,
  UserRef,
} from '../../protocol/index.ts';
import type { FileRecords, PendingFile } from './file-records.ts';
import type { RoomRecords } from './room-records.ts';

export interface UserRecord extends UserRef {
  nameKey: string;
  passwordHash: string;
  createdAt: number;
}

/** A new user; `skeleton` is the look-alike key, unique among users created with one (the name key when omitted). */
export type NewUser = Omit<UserRecord, 'id'> & { skeleton?: string };

/** The keys of a name under the current rules (accounts/names.ts). */
export type NameKeys = (name: string) => { nameKey: string; skeleton: string };

export interface SessionRecord {
  userId: number;
  expiresAt: number;
}

/** A message on its way to being committed. */
export interface PendingMessage {
  conv: ConversationId;
  sender: UserRef;
  clientId: string;
  text: string;
  ts: number;
  /** A file offer: its row is inserted in the same transaction, keyed by the message's seq. */
  file?: PendingFile;
  /**
   * The two members of a direct conversation: if `conv` does not exist yet, it is created with
   * them (its first message creates it). The caller has checked that both users exist.
   */
  direct?: readonly [UserRef, UserRef];
}

/** A membership created by a commit (a DM's first message), with the rev of that change. */
export interface CreatedMembership {
  user: UserRef;
  rev: number;
}

export type CommitResult =
  | {
      ok: true;
      message: Message;
      /** The sender already stored a message with this clientId; `message` is that original. */
      duplicate: boolean;
      convKind: ConversationKind;
      /** Who may read the conversation (each once), read in the commit's transaction; null for the world (everyone). */
      members: readonly number[] | null;
      /** Memberships this message created (the first message of a DM creates both). */
      created: readonly CreatedMembership[];
    }
  /** The sender is not a member of the conversation (or it does not exist): nothing was stored. */
  | { ok: false; reason: 'not-member' };

/** The user's membership of one conversation. */
export interface MembershipRecord {
  conv: ConversationId;
  kind: ConversationKind;
  role: RoomRole;
  readSeq: number;
}

/** A membership of `userId` made or changed (joined, a new role) at `rev`. */
export interface MembershipChange {
  userId: number;
  conv: ConversationId;
  rev: number;
}

export interface Store {
  /** File cards and their state changes (storage/file-records.ts). */
  readonly files: FileRecords;
  /** Rooms, their details and memberships (storage/room-records.ts). */
  readonly rooms: RoomRecords;

  /**
   * Inserts the user and makes them a member of the world chat, read up to its current end. Null
   * when the name key is taken, or another user has the same skeleton (a look-alike name).
   */
  createUser(user: NewUser): Promise<UserRecord | null>;
  userByNameKey(nameKey: string): Promise<UserRecord | null>;
  /** The user with exactly this name: an account whose key another one took when the rules changed. */
  userByName(name: string): Promise<UserRecord | null>;
  /**
   * Gives users created before the current name rules their keys (in order of creation, so the
   * first of two that now collide keeps the key; the other keeps logging in by its exact name).
   * Returns how many were updated.
   */
  upgradeNameKeys(keysOf: NameKeys): Promise<number>;
  userById(id: number): Promise<UserRef | null>;
  /** Users whose name key starts with `prefix`, by name key, after the name key `after`. */
  usersByPrefix(prefix: string, options: { after?: string; limit: number }): Promise<(UserRef & { nameKey: string })[]>;

  createSession(tokenHash: Buffer, session: SessionRecord & { createdAt: number }): Promise<void>;
  sessionByTokenHash(tokenHash: Buffer): Promise<SessionRecord | null>;
  /** Of these token hashes, those of sessions that exist and expire after `now`, as hex (a node's check of its open connections). */
  liveSessionsAmong(tokenHashes: readonly Buffer[], now: number): Promise<Set<string>>;
  deleteSession(tokenHash: Buffer): Promise<void>;
  /** Ends every session of a user ("log out everywhere"). */
  deleteSessionsOf(userId: number): Promise<void>;
  /**
   * Replaces the user's password hash and ends every other session of theirs, in one
   * transaction: no session opened with the old password survives the change, but `keep`
   * (the session that made it) does. False when the user does not exist.
   */
  changePassword(userId: number, passwordHash: string, keep: Buffer): Promise<boolean>;

  /**
   * Commits a batch in one transaction, in order: each message gets the next sequence number
   * of its conversation, except a (sender, clientId) seen before, which returns the original,
   * and a sender who is not a member, which stores nothing. A sender's read position moves to
   * their own message.
   */
  commit(batch: readonly PendingMessage[]): Promise<CommitResult[]>;

  /** Messages with seq < before (newest page when omitted), ascending, and whether older ones exist. */
  page(conv: ConversationId, limit: number, before?: number): Promise<{ messages: Message[]; hasMore: boolean }>;
  /** Up to `limit` messages with seq > afterSeq, ascending. */
  after(conv: ConversationId, afterSeq: number, limit: number): Promise<Message[]>;
  lastSeq(conv: ConversationId): Promise<number>;

  /** The user's membership of `conv`, or null when they are not a member (or it does not exist). */
  membership(userId: number, conv: ConversationId): Promise<MembershipRecord | null>;
  /** The ids of the members of `conv` (a room or a DM; the world's are everyone). */
  memberIds(conv: ConversationId): Promise<number[]>;
  /** A conversation's kind and members (null for the world: everyone), or null when it does not exist. */
  conversationState(conv: ConversationId): Promise<{ kind: ConversationKind; lastSeq: number; members: number[] | null } | null>;
  /** The conversations the user belongs to, world first, with unread counts and the last message. */
  conversationsOf(user: UserRef): Promise<ConversationSummary[]>;
  /** One conversation as `user` sees it, or null when they are not a member. */
  conversationOf(user: UserRef, conv: ConversationId): Promise<ConversationSummary | null>;
  /** These users' memberships made or changed (joined, role) after `afterRev`, ascending by rev (one read for them all). */
  membershipsChangedSince(userIds: readonly number[], afterRev: number): Promise<MembershipChange[]>;
  /** The last state rev handed out (memberships, rooms, file cards share one counter). */
  lastRev(): Promise<number>;
  /** Moves the read position forward (never back); returns the position and the unread count left. */
  markRead(userId: number, conv: ConversationId, seq: number): Promise<{ readSeq: number; unread: number }>;

  close(): Promise<void>;
}
