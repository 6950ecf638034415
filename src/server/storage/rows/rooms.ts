import type { ConversationId, RoomInfo, RoomRole, RoomVisibility } from '../../../protocol/index.ts';
import type { MemberState } from '../room-records.ts';

/*
 * A room's and a member's rows, shared by both SQL adapters (sqlite/, postgres/): both databases
 * have the same `conversations` and `memberships` columns and return them under these names, so
 * the column list and the mappings are written once.
 */

export interface RoomRow {
  id: string;
  name: string;
  topic: string;
  visibility: RoomVisibility;
  member_count: number;
  rev: number;
}

export const ROOM_COLUMNS = 'c.id, c.name, c.topic, c.visibility, c.member_count, c.rev';

export function toRoomInfo(row: RoomRow): RoomInfo {
  return { id: row.id, name: row.name, topic: row.topic, visibility: row.visibility, memberCount: row.member_count, rev: row.rev };
}

/** A member's state as the stores' queries read it (PostgreSQL gives bigints as numbers or strings). */
export interface MemberStateRow {
  conv: ConversationId;
  id: number;
  name: string;
  role: RoomRole | null;
  rev: number | string;
  by_id: number;
  by_name: string;
  member_count: number;
}

export function toMemberState(row: MemberStateRow): MemberState {
  return {
    conv: row.conv,
    user: { id: Number(row.id), name: row.name },
    role: row.role,
    rev: Number(row.rev),
    by: { id: Number(row.by_id), name: row.by_name },
    memberCount: Number(row.member_count),
  };
}
