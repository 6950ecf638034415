/** Bodies and replies of the HTTP API (see docs/PROTOCOL.md). */
import { z } from 'zod';
import { queryInteger } from './query-integer.ts';
import type { ConversationSummary, Message, UserRef } from './frames.ts';
import { CLIENT_ID_PATTERN, HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, PASSWORD_MAX_BYTES } from './limits.ts';

const utf8 = new TextEncoder();

const password = z.string().refine((p) => utf8.encode(p).length <= PASSWORD_MAX_BYTES, {
  message: `at most ${PASSWORD_MAX_BYTES} bytes`,
});

export const credentialsBody = z.strictObject({
  name: z.string().max(256),
  password,
});
export type Credentials = z.infer<typeof credentialsBody>;

/** `POST /api/password`: the current password proves it is the owner, not just their session. */
export const passwordChangeBody = z.strictObject({
  currentPassword: password,
  newPassword: password,
});
export type PasswordChange = z.infer<typeof passwordChangeBody>;

export interface SessionReply {
  user: UserRef;
  /** The opaque session token, also set as the HttpOnly cookie `parley_session`. */
  token: string;
}

export interface MeReply {
  user: UserRef;
}

/** `GET /api/session`: who the request's session belongs to, or null; never a 401. */
export interface SessionStateReply {
  user: UserRef | null;
}

export interface ConversationsReply {
  conversations: ConversationSummary[];
}

export interface HistoryReply {
  conv: string;
  messages: Message[];
  hasMore: boolean;
}

export interface ErrorReply {
  error: { code: string; message: string; retryAfterMs?: number };
}

export const SESSION_COOKIE = 'parley_session';
/** Marks a browser that logged in to an account before, so that strangers' failures do not lock it out. */
export const DEVICE_COOKIE = 'parley_device';

/** `POST /api/conversations/:conv/messages`: the same send as the WebSocket frame, for scripts. */
export const sendBody = z.strictObject({
  clientId: z.string().regex(CLIENT_ID_PATTERN).optional(),
  text: z.string(),
});
export type SendBody = z.infer<typeof sendBody>;

/** `GET /api/conversations/:conv/messages?before=<seq>&limit=<n>` */
export const historyQuery = z.strictObject({
  before: queryInteger(z.number().int().min(1)).optional(),
  limit: queryInteger(z.number().int().min(1).max(HISTORY_PAGE_MAX)).default(HISTORY_PAGE_DEFAULT),
});

export interface AckReply {
  clientId: string;
  conv: string;
  seq: number;
  ts: number;
}

export interface OnlineReply {
  online: UserRef[];
}

/** `POST /api/rooms`, `POST /api/rooms/:conv/join`: the room as the caller's conversation now. */
export interface ConversationReply {
  conversation: ConversationSummary;
}
