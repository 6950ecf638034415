import type { ExportScope } from './export.ts';

/** What the export's SQL spells differently on SQLite and on PostgreSQL. */
export interface ExportDialect {
  /** The exporting user's id as a query parameter: `:me` (better-sqlite3) or `$1` (pg). */
  me: string;
  /**
   * A JSON array, as text, of `{ user, role, joinedAt, readSeq }` for the memberships `m` that
   * match `where`, in user id order, `readSeq` being the SQL expression `readSeq` (null where it
   * is NULL); `[]` when none do.
   */
  members(where: string, readSeq: string): string;
}

export interface ExportQueries {
  users: string;
  conversations: string;
  messages: string;
  files: string;
}

/**
 * The export's queries, one per kind of record, for either database: what each scope holds and
 * the order of the rows (export.ts turns the rows into records). Conversation ids are compared
 * in byte order on both (PostgreSQL's columns use the "C" collation), so the orders agree.
 */
export function exportQueries(scope: ExportScope, dialect: ExportDialect): ExportQueries {
  const user = scope.kind === 'user';
  const me = dialect.me;
  return {
    users: user
      ? `SELECT id, name, created_at FROM users WHERE id = ${me} OR id IN (
           SELECT theirs.user_id FROM memberships mine
           JOIN memberships theirs ON theirs.conv_id = mine.conv_id
           JOIN conversations c ON c.id = mine.conv_id
           WHERE mine.user_id = ${me} AND c.kind != 'world') ORDER BY id`
      : `SELECT id, name, created_at FROM users ORDER BY id`,
    // In a user's export the world chat lists that user's own membership only, and no one else's
    // read position anywhere (how far others have read is theirs: Parley shows it to nobody).
    conversations: `SELECT c.id, c.kind, c.created_at, c.last_seq, c.name, c.topic, c.visibility,
        ${dialect.members(
          `m.conv_id = c.id ${user ? `AND (c.kind != 'world' OR m.user_id = ${me})` : ''}`,
          user ? `CASE WHEN m.user_id = ${me} THEN m.read_seq END` : 'm.read_seq',
        )} AS members
        FROM conversations c
        ${user ? `WHERE c.id IN (SELECT conv_id FROM memberships WHERE user_id = ${me})` : ''}
        ORDER BY c.created_at, c.id`,
    messages: user
      ? `SELECT m.conv_id, m.seq, m.sender_id, m.client_id, m.text, m.ts, m.system FROM messages m
         JOIN memberships mine ON mine.conv_id = m.conv_id AND mine.user_id = ${me}
         JOIN conversations c ON c.id = m.conv_id
         WHERE c.kind != 'world' OR m.sender_id = ${me}
         ORDER BY m.conv_id, m.seq`
      : `SELECT conv_id, seq, sender_id, client_id, text, ts, system FROM messages ORDER BY conv_id, seq`,
    files: `SELECT id, conv_id, seq, sender_id, recipient_id, name, size, type, sha256, state, received, error,
        offered_at, decided_at, completed_at, delivered_at, expires_at FROM files
        ${user ? `WHERE sender_id = ${me} OR recipient_id = ${me}` : ''} ORDER BY rev`,
  };
}
