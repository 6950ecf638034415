/**
 * Conversation ids. The world chat is `world`; a direct conversation between users 7 and 12
 * is `dm:7:12` (smaller id first), so both members and every device derive the same id with
 * no round trip; a room is `room:<12 letters and digits>`, chosen by the server when it is created.
 *
 * An id names a conversation; it never says who may see it. Who belongs to a conversation is
 * data (the memberships table), read by the server; the kind is data too (`ConversationKind`).
 */
export const WORLD = 'world';

export type ConversationId = string;

/** `world` (everyone), `dm` (two people; created by its first message) or `room` (a group with members). */
export type ConversationKind = 'world' | 'dm' | 'room';

export const ROOM_ID_PATTERN = /^room:[A-Za-z0-9]{12}$/;
export const CONVERSATION_ID_PATTERN = /^(?:world|dm:[1-9]\d{0,14}:[1-9]\d{0,14}|room:[A-Za-z0-9]{12})$/;

export function dmId(a: number, b: number): ConversationId {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** The two member ids a DM id is made of, or null for any other id. Used to create a DM, never to route it. */
export function dmMembers(conv: ConversationId): [number, number] | null {
  const match = /^dm:(\d+):(\d+)$/.exec(conv);
  if (!match) return null;
  const a = Number(match[1]);
  const b = Number(match[2]);
  if (!(a < b)) return null;
  return [a, b];
}

/** The other member of a DM, seen from `me`. */
export function dmPeer(conv: ConversationId, me: number): number | null {
  const members = dmMembers(conv);
  if (!members) return null;
  if (members[0] === me) return members[1];
  if (members[1] === me) return members[0];
  return null;
}

export function isRoomId(conv: ConversationId): boolean {
  return ROOM_ID_PATTERN.test(conv);
}
