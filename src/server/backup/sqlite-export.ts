import Database from 'better-sqlite3';
import type { ConversationRow, ExportSnapshot, FileRow, MessageRow, OpenExportSnapshot, UserRow } from './export.ts';
import { exportQueries, type ExportDialect } from './export-queries.ts';

const SQLITE: ExportDialect = {
  me: ':me',
  members: (where, readSeq) =>
    `(SELECT json_group_array(json_object('user', m.user_id, 'role', m.role, 'joinedAt', m.joined_at, 'readSeq', ${readSeq}) ORDER BY m.user_id)
      FROM memberships m WHERE ${where})`,
};

/**
 * Export snapshots of a SQLite database file: each from its own read-only connection, in one
 * read transaction, so that it neither blocks the server's writer nor is blocked by it.
 */
export function sqliteExportSnapshots(databaseFile: string): OpenExportSnapshot {
  return async (scope): Promise<ExportSnapshot> => {
    const db = new Database(databaseFile, { readonly: true, fileMustExist: true });
    try {
      // Deferred: the snapshot is taken at the first read, and every later read sees that one.
      db.exec('BEGIN');
    } catch (error) {
      db.close();
      throw error;
    }
    const sql = exportQueries(scope, SQLITE);
    const params = scope.kind === 'user' ? { me: scope.userId } : {};
    const rows = <R>(query: string) => db.prepare(query).iterate(params) as Iterable<R>;
    return {
      users: () => rows<UserRow>(sql.users),
      conversations: () => rows<ConversationRow>(sql.conversations),
      messages: () => rows<MessageRow>(sql.messages),
      files: () => rows<FileRow>(sql.files),
      async close() {
        if (db.inTransaction) db.exec('ROLLBACK');
        db.close();
      },
    };
  };
}
