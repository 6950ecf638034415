/**
 * The data of the whole server (`parley export`) or of one user (`GET /api/me/export`) as
 * NDJSON: one JSON object per line, each with a `type`. Never a password or session hash.
 * Read from its own read-only connection in one transaction: a consistent snapshot that neither
 * blocks the server's writer nor is blocked by it. docs/DEPLOYMENT.md ("Exporting") documents
 * the records.
 *
 * A user's export holds their account and the people they share a direct conversation or room
 * with; the conversations they belong to; every message of their direct conversations and rooms;
 * their own messages in the world chat (the others' posts there are the others' data); and the
 * files they sent or received (metadata, not bytes).
 */
import Database from 'better-sqlite3';
import { parleyVersion } from '../version.ts';

export type ExportScope = { kind: 'server' } | { kind: 'user'; userId: number };

export const EXPORT_FORMAT = 1;

interface Counts {
  users: number;
  conversations: number;
  messages: number;
  files: number;
}

interface Row {
  [column: string]: unknown;
}

function queries(scope: ExportScope) {
  const user = scope.kind === 'user';
  return {
    users: user
      ? `SELECT id, name, created_at FROM users WHERE id = :me OR id IN (
           SELECT theirs.user_id FROM memberships mine
           JOIN memberships theirs ON theirs.conv_id = mine.conv_id
           JOIN conversations c ON c.id = mine.conv_id
           WHERE mine.user_id = :me AND c.kind != 'world') ORDER BY id`
      : `SELECT id, name, created_at FROM users ORDER BY id`,
    conversations: `SELECT c.id, c.kind, c.created_at, c.last_seq, c.name, c.topic, c.visibility,
        (SELECT json_group_array(json_object('user', m.user_id, 'role', m.role, 'joinedAt', m.joined_at, 'readSeq', m.read_seq)) FROM memberships m
          WHERE m.conv_id = c.id ${user ? `AND (c.kind != 'world' OR m.user_id = :me)` : ''}) AS members
        FROM conversations c
        ${user ? 'WHERE c.id IN (SELECT conv_id FROM memberships WHERE user_id = :me)' : ''}
        ORDER BY c.created_at, c.id`,
    messages: user
      ? `SELECT m.conv_id, m.seq, m.sender_id, m.client_id, m.text, m.ts, m.system FROM messages m
         JOIN memberships mine ON mine.conv_id = m.conv_id AND mine.user_id = :me
         JOIN conversations c ON c.id = m.conv_id
         WHERE c.kind != 'world' OR m.sender_id = :me
         ORDER BY m.conv_id, m.seq`
      : `SELECT conv_id, seq, sender_id, client_id, text, ts, system FROM messages ORDER BY conv_id, seq`,
    files: `SELECT id, conv_id, seq, sender_id, recipient_id, name, size, type, sha256, state, received, error,
        offered_at, decided_at, completed_at, delivered_at, expires_at FROM files
        ${user ? 'WHERE sender_id = :me OR recipient_id = :me' : ''} ORDER BY rev`,
  };
}

const line = (record: object) => `${JSON.stringify(record)}\n`;

/**
 * The export, line by line. Lazy: a slow reader holds the snapshot open, not the whole export
 * in memory. Ends with an `end` record whose counts let a reader check it got everything.
 */
export function* exportLines(databaseFile: string, scope: ExportScope, now = new Date()): Generator<string> {
  const db = new Database(databaseFile, { readonly: true, fileMustExist: true });
  try {
    db.exec('BEGIN');
    const sql = queries(scope);
    const params = scope.kind === 'user' ? { me: scope.userId } : {};
    const counts: Counts = { users: 0, conversations: 0, messages: 0, files: 0 };
    yield line({ type: 'export', format: EXPORT_FORMAT, scope: scope.kind, parley: parleyVersion(), exportedAt: now.toISOString() });
    for (const row of db.prepare(sql.users).iterate(params) as Iterable<Row>) {
      counts.users++;
      yield line({ type: 'user', id: row.id, name: row.name, createdAt: row.created_at });
    }
    for (const row of db.prepare(sql.conversations).iterate(params) as Iterable<Row>) {
      counts.conversations++;
      const room = row.kind === 'room' ? { name: row.name, topic: row.topic, visibility: row.visibility } : {};
      yield line({ type: 'conversation', id: row.id, kind: row.kind, ...room, createdAt: row.created_at, lastSeq: row.last_seq, members: JSON.parse(row.members as string) });
    }
    for (const row of db.prepare(sql.messages).iterate(params) as Iterable<Row>) {
      counts.messages++;
      // A system message (a join, a rename) carries what happened as JSON.
      const system = row.system === null || row.system === undefined ? {} : { system: JSON.parse(row.system as string) as unknown };
      yield line({ type: 'message', conv: row.conv_id, seq: row.seq, sender: row.sender_id, clientId: row.client_id, text: row.text, ts: row.ts, ...system });
    }
    for (const row of db.prepare(sql.files).iterate(params) as Iterable<Row>) {
      counts.files++;
      yield line({
        type: 'file',
        id: row.id,
        conv: row.conv_id,
        seq: row.seq,
        sender: row.sender_id,
        recipient: row.recipient_id,
        name: row.name,
        size: row.size,
        mediaType: row.type,
        sha256: row.sha256,
        state: row.state,
        received: row.received,
        error: row.error,
        offeredAt: row.offered_at,
        decidedAt: row.decided_at,
        completedAt: row.completed_at,
        deliveredAt: row.delivered_at,
        expiresAt: row.expires_at,
      });
    }
    yield line({ type: 'end', counts });
    db.exec('COMMIT');
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}
