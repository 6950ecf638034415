import type { ConversationId, ConversationKind, ConversationSummary, RoomRole, RoomVisibility } from '../../../protocol/index.ts';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from '../rows/messages.ts';
import { toRoomInfo } from '../rows/rooms.ts';
import type { Queryable } from './database.ts';

/** Unread counts stop counting here; the UI shows "999+" long before. */
export const UNREAD_COUNT_CAP = 9999;

interface SummaryRow {
  id: string;
  kind: ConversationKind;
  last_seq: number;
  read_seq: number;
  role: RoomRole;
  name: string | null;
  topic: string;
  visibility: RoomVisibility | null;
  member_count: number;
  rev: number;
  unread: number;
  peer_id: number | null;
  peer_name: string | null;
}

/** Only others' messages after the read position count, never system messages (SQLite's rule). */
export const UNREAD_SQL = `SELECT count(*) FROM (SELECT 1 FROM messages um
  WHERE um.conv_id = $1 AND um.seq > $2 AND um.sender_id <> $3 AND um.system IS NULL LIMIT ${UNREAD_COUNT_CAP}) unread`;

/**
 * The user's conversations (or the one `conv`) as summaries, in two queries whatever their
 * number: the memberships with their unread counts and DM peers, then every last message.
 */
export async function summaries(db: Queryable, userId: number, conv?: ConversationId): Promise<ConversationSummary[]> {
  const { rows } = await db.query<SummaryRow>(
    `SELECT c.id, c.kind, c.last_seq, ms.read_seq, ms.role, c.name, c.topic, c.visibility, c.member_count, c.rev,
       (SELECT count(*) FROM (SELECT 1 FROM messages um WHERE um.conv_id = c.id AND um.seq > ms.read_seq
          AND um.sender_id <> ms.user_id AND um.system IS NULL LIMIT ${UNREAD_COUNT_CAP}) unread) AS unread,
       peer.id AS peer_id, peer.name AS peer_name
     FROM memberships ms JOIN conversations c ON c.id = ms.conv_id
     LEFT JOIN LATERAL (SELECT u.id, u.name FROM memberships pm JOIN users u ON u.id = pm.user_id
       WHERE c.kind = 'dm' AND pm.conv_id = c.id AND pm.user_id <> ms.user_id LIMIT 1) peer ON true
     WHERE ms.user_id = $1 ${conv === undefined ? '' : 'AND ms.conv_id = $2'}
     ORDER BY c.kind = 'world' DESC, c.last_seq DESC`,
    conv === undefined ? [userId] : [userId, conv],
  );
  // Seqs are dense and messages are never deleted: a conversation's last message has seq = last_seq.
  const withMessages = rows.filter((row) => row.last_seq > 0);
  const last = new Map<string, MessageRow>();
  if (withMessages.length > 0) {
    const found = await db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} WHERE m.conv_id = ANY($1) AND m.seq = ANY($2)`, [
      withMessages.map((row) => row.id),
      [...new Set(withMessages.map((row) => row.last_seq))],
    ]);
    for (const message of found.rows) last.set(`${message.conv_id}:${message.seq}`, message);
  }
  return rows.map((row) => {
    const summary: ConversationSummary = { id: row.id, kind: row.kind, lastSeq: row.last_seq, readSeq: row.read_seq, unread: row.unread };
    if (row.kind === 'dm' && row.peer_id !== null) summary.peer = { id: row.peer_id, name: row.peer_name! };
    if (row.kind === 'room') {
      summary.room = toRoomInfo({ ...row, name: row.name!, visibility: row.visibility! });
      summary.role = row.role;
    }
    const message = last.get(`${row.id}:${row.last_seq}`);
    if (message) summary.last = toMessage(message);
    return summary;
  });
}
