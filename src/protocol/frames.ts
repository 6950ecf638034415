/**
 * Every frame that crosses the WebSocket, one union per direction. Client frames are zod
 * schemas because the server validates each one at the edge; server frames are plain types
 * because the server builds them (and `satisfies` checks it does so correctly).
 */
import { z } from 'zod';
import { CONVERSATION_ID_PATTERN, type ConversationId, type ConversationKind } from './conversations.ts';
import type { RoomInfo, RoomRole, SystemEvent } from './rooms.ts';
import type { UserRef } from './users.ts';
import { CLIENT_ID_PATTERN, HISTORY_PAGE_MAX } from './limits.ts';
import type { ErrorCode } from './errors.ts';
import type { FileCard } from './files.ts';

const conv = z.string().regex(CONVERSATION_ID_PATTERN);
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const ref = z.union([z.string().max(64), z.number().int()]);

export const helloFrame = z.strictObject({
  type: z.literal('hello'),
  protocol: z.number().int(),
  /** The last sequence number this client holds for each conversation it has cached. */
  cursors: z.record(conv, seq).optional(),
  /** The highest file-card `rev` this client holds: file cards changed since are sent after catch-up. */
  fileRev: seq.optional(),
});

export const sendFrame = z.strictObject({
  type: z.literal('send'),
  conv,
  /** Chosen by the client, unique per sender; a retry with the same id is stored once. */
  clientId: z.string().regex(CLIENT_ID_PATTERN),
  // The code-point limit is checked after parsing so that it gets its own error code.
  text: z.string(),
});

export const historyFrame = z.strictObject({
  type: z.literal('history'),
  ref,
  conv,
  /** Return messages with seq < before; omitted: the newest page. */
  before: seq.optional(),
  limit: z.number().int().min(1).max(HISTORY_PAGE_MAX).optional(),
});

export const readFrame = z.strictObject({
  type: z.literal('read'),
  conv,
  seq,
});

export const pingFrame = z.strictObject({
  type: z.literal('ping'),
  ref: ref.optional(),
});

export const clientFrame = z.discriminatedUnion('type', [
  helloFrame,
  sendFrame,
  historyFrame,
  readFrame,
  pingFrame,
]);

export type HelloFrame = z.infer<typeof helloFrame>;
export type SendFrame = z.infer<typeof sendFrame>;
export type HistoryFrame = z.infer<typeof historyFrame>;
export type ReadFrame = z.infer<typeof readFrame>;
export type ClientFrame = z.infer<typeof clientFrame>;
export type ClientFrameType = ClientFrame['type'];
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = ['hello', 'send', 'history', 'read', 'ping'];

export type { UserRef } from './users.ts';

export interface Message {
  conv: ConversationId;
  seq: number;
  /** Server time of the commit, milliseconds since the Unix epoch. */
  ts: number;
  sender: UserRef;
  clientId: string;
  text: string;
  /** Present on a file offer (then `text` is the file name, for clients that show text only). */
  file?: FileCard;
  /**
   * Present on a system message of a room (a join, a rename…): `sender` did it, `text` says it in
   * English for clients that show text only. System messages never count as unread.
   */
  system?: SystemEvent;
}

/** One of the user's conversations, as the sidebar needs it: O(1) in size whatever the members. */
export interface ConversationSummary {
  id: ConversationId;
  kind: ConversationKind;
  /** The other member, for a DM. */
  peer?: UserRef;
  /** The room's details, for a room. */
  room?: RoomInfo;
  /** This user's role, for a room. */
  role?: RoomRole;
  lastSeq: number;
  /** The last seq this user has marked read (on any device). */
  readSeq: number;
  /** Messages from others after readSeq (system messages do not count). */
  unread: number;
  last?: Message;
}

export interface PresenceChange {
  user: UserRef;
  online: boolean;
}

export interface ServerLimits {
  maxTextCodePoints: number;
  maxFrameBytes: number;
  historyPageMax: number;
  /** The largest file an offer may announce, so a client can refuse before hashing it. */
  maxFileBytes: number;
}

export type ServerFrame =
  | {
      type: 'welcome';
      protocol: number;
      me: UserRef;
      online: UserRef[];
      conversations: ConversationSummary[];
      limits: ServerLimits;
    }
  | { type: 'message'; message: Message }
  | { type: 'ack'; clientId: string; conv: ConversationId; seq: number; ts: number }
  /** Catch-up after hello is complete; everything after this is live. */
  | { type: 'synced' }
  /** More was missed than CATCH_UP_MAX: drop the cache of this conversation and page history. */
  | { type: 'gap'; conv: ConversationId; lastSeq: number }
  | { type: 'history'; ref: string | number; conv: ConversationId; messages: Message[]; hasMore: boolean }
  /** Users who came online or went offline, coalesced over a short window. */
  | { type: 'presence'; changes: PresenceChange[] }
  /** This user now belongs to a conversation: a DM was created (by its first message), a room created, joined or invited to. */
  | { type: 'conversation'; conversation: ConversationSummary }
  /** The details of a room this user belongs to changed (name, topic, visibility); keep the newest `rev`. */
  | { type: 'room'; room: RoomInfo }
  /**
   * Someone's membership of a room this user belongs to changed: joined or invited (a role),
   * left or removed (`role: null`), or a new role. When `user` is this user and `role` is null,
   * this user is no longer a member: drop the conversation. Keep the newest `rev` per member.
   * `by` made the change: `user` themselves for a join or a leave, else who invited, removed or
   * named them (so a removed member can be told who removed them).
   */
  | { type: 'member'; conv: ConversationId; user: UserRef; role: RoomRole | null; memberCount: number; rev: number; by: UserRef }
  /** This user's read position moved (from this or another device). */
  | { type: 'read'; conv: ConversationId; seq: number; unread: number }
  | { type: 'pong'; ref?: string | number }
  /** A file card in one of this user's DMs changed (committed); also replayed after hello from `fileRev`. */
  | { type: 'file'; file: FileCard }
  /** Upload progress of a file, at most a few times a second and not stored: `received` of `size` bytes. */
  | { type: 'fileProgress'; id: string; conv: ConversationId; received: number; size: number }
  | {
      type: 'error';
      code: ErrorCode;
      message: string;
      /** The `ref` of the request, or the `clientId` of the send, this error answers. */
      ref?: string | number;
      clientId?: string;
      retryAfterMs?: number;
    };

export type ServerFrameType = ServerFrame['type'];
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;
