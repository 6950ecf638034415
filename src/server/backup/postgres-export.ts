import type pg from 'pg';
import type { Database } from '../storage/postgres/database.ts';
import { MIGRATIONS } from '../storage/postgres/migrations.ts';
import { asUnavailable } from '../storage/postgres/unavailable.ts';
import { EXPORTS_AT_ONCE, type ConversationRow, type ExportSnapshot, type FileRow, type MessageRow, type OpenExportSnapshot, type UserRow } from './export.ts';
import { exportQueries, type ExportDialect } from './export-queries.ts';

const POSTGRES: ExportDialect = {
  me: '$1',
  members: (where, readSeq) =>
    `(SELECT coalesce(json_agg(json_build_object('user', m.user_id, 'role', m.role, 'joinedAt', m.joined_at, 'readSeq', ${readSeq}) ORDER BY m.user_id), '[]')::text
      FROM memberships m WHERE ${where})`,
};

/** The export pool's connections: one per export the route lets run at once (each holds one for as long as its reader takes). */
export const EXPORT_CONNECTIONS = EXPORTS_AT_ONCE;

/** Rows per FETCH: a page is what an export holds in memory at a time. */
export const EXPORT_PAGE_ROWS = 500;

/**
 * Export snapshots of a PostgreSQL database: each on a connection of its own from `db`'s pool, in
 * one REPEATABLE READ, READ ONLY transaction (one snapshot for every query, taking no locks that
 * hold up the nodes' writes), read page by page through a cursor.
 */
export function postgresExportSnapshots(db: Database): OpenExportSnapshot {
  return async (scope): Promise<ExportSnapshot> => {
    const client = await db.pool.connect().catch((error: unknown) => {
      throw asUnavailable(error);
    });
    let broken = false;
    // A connection lost while the export waits for its reader would otherwise be an unhandled 'error' event.
    const lost = () => (broken = true);
    client.on('error', lost);
    const release = () => {
      client.removeListener('error', lost);
      client.release(broken);
    };
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // The pool ends a session idle in a transaction after 30 s (database.ts), but an export waits
      // on its reader between pages: a slow download is not a stuck node. The reader bounds it instead
      // (the HTTP idle timeout cuts a download that stalls; the export then ends its transaction).
      await client.query('SET LOCAL idle_in_transaction_session_timeout = 0');
    } catch (error) {
      broken = true;
      release();
      throw asUnavailable(error);
    }
    const sql = exportQueries(scope, POSTGRES);
    const params = scope.kind === 'user' ? [scope.userId] : [];
    let cursors = 0;
    async function* rows<R extends pg.QueryResultRow>(query: string): AsyncGenerator<R> {
      const cursor = `export_${++cursors}`;
      try {
        await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${query}`, params);
        for (;;) {
          const page = await client.query<R>(`FETCH ${EXPORT_PAGE_ROWS} FROM ${cursor}`);
          yield* page.rows;
          if (page.rows.length < EXPORT_PAGE_ROWS) break;
        }
        await client.query(`CLOSE ${cursor}`);
      } catch (error) {
        throw asUnavailable(error);
      }
    }
    return {
      users: () => rows<UserRow & pg.QueryResultRow>(sql.users),
      conversations: () => rows<ConversationRow & pg.QueryResultRow>(sql.conversations),
      messages: () => rows<MessageRow & pg.QueryResultRow>(sql.messages),
      files: () => rows<FileRow & pg.QueryResultRow>(sql.files),
      async close() {
        // Read only: ending the transaction either way leaves the database as it was. A failed
        // ROLLBACK (the connection is gone) drops the connection instead of returning it to the pool.
        await client.query('ROLLBACK').catch(() => (broken = true));
        release();
      },
    };
  };
}

/**
 * Why `db` cannot be exported by this Parley (no Parley schema in it, or a newer one), or null.
 * The export only reads: it never creates or upgrades the schema as a starting server does.
 */
export async function unexportableReason(db: Database): Promise<string | null> {
  // Two statements: a query naming a table that does not exist fails as a whole, whatever its CASE says.
  const present = await db.pool.query<{ present: boolean }>(`SELECT to_regclass('parley_schema') IS NOT NULL AS present`);
  const version = present.rows[0]?.present
    ? ((await db.pool.query<{ version: number | null }>('SELECT max(version) AS version FROM parley_schema')).rows[0]?.version ?? null)
    : null;
  if (version === null) return 'it holds no Parley tables (no parley_schema)';
  if (version > MIGRATIONS.length) return `its schema (version ${version}) is newer than this Parley (version ${MIGRATIONS.length}); upgrade Parley`;
  return null;
}
