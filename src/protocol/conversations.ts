/**
 * Conversation ids. The world chat is `world`; a direct conversation between users 7 and 12
 * is `dm:7:12` (smaller id first), so both members and every device derive the same id with
 * no round trip.
 */
export const WORLD = 'world';

export type ConversationId = string;

export const CONVERSATION_ID_PATTERN = /^(?:world|dm:[1-9]\d{0,14}:[1-9]\d{0,14})$/;

export function dmId(a: number, b: number): ConversationId {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

/** The two member ids of a DM id, or null for the world or an ill-formed id. */
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
