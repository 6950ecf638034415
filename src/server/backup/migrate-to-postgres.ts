/**
 * `parley migrate`: copies a single-node install (its SQLite database) into an empty PostgreSQL
 * database, ids, seqs and revs as they are, then checks that every table and every
 * conversation's messages arrived whole. One transaction on each side: the SQLite snapshot is
 * consistent, and the PostgreSQL copy is all or nothing, transferred files' bytes included
 * (migrate-blobs.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openDatabase } from '../storage/sqlite/open-database.ts';
import { Database as Postgres, type Queryable } from '../storage/postgres/database.ts';
import { migrate } from '../storage/postgres/migrate.ts';
import { cannotUseDatabase, redactedUrl } from '../storage/open-store.ts';
import { DATABASE_FILE } from './data-folder.ts';
import { copyBlobs } from './migrate-blobs.ts';
import { DEVICE_KEY_FILE, DEVICE_KEY_SECRET } from '../accounts/device-tokens.ts';

export class MigrateError extends Error {}

/**
 * Every table Parley stores, in an order that satisfies the foreign keys, with its columns. Not
 * `departures`: it is read only to refill what a node's clients missed while Redis was away, from
 * revs after that node started, so a fresh cluster needs none of a single node's.
 */
const TABLES = {
  users: ['id', 'name', 'name_key', 'name_skeleton', 'password_hash', 'created_at'],
  conversations: ['id', 'kind', 'last_seq', 'created_at', 'name', 'name_key', 'topic', 'visibility', 'member_count', 'rev'],
  memberships: ['user_id', 'conv_id', 'read_seq', 'role', 'joined_at', 'rev'],
  sessions: ['token_hash', 'user_id', 'created_at', 'expires_at'],
  messages: ['conv_id', 'seq', 'sender_id', 'client_id', 'text', 'ts', 'system'],
  files: [
    'id', 'conv_id', 'seq', 'sender_id', 'recipient_id', 'name', 'size', 'type', 'sha256', 'state', 'received', 'error',
    'offered_at', 'decided_at', 'completed_at', 'delivered_at', 'expires_at', 'rev',
  ],
  counters: ['name', 'value'],
} as const;

export type TableName = keyof typeof TABLES;
export type MigrateCounts = Record<TableName, number>;

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters at 18 columns. */
const CHUNK = 500;

export async function migrateToPostgres(dataDir: string, url: string): Promise<MigrateCounts> {
  const file = join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) throw new MigrateError(`${dataDir} holds no Parley database (${DATABASE_FILE}); is --from right?`);
  // Opened as the server opens it: an older schema is brought up to date first.
  const sqlite = openDatabase(file);
  const pg = new Postgres(url, 1);
  try {
    await migrate(pg).catch((error: unknown) => {
      throw new MigrateError(cannotUseDatabase(url, error));
    });
    sqlite.exec('BEGIN');
    try {
      return await pg.transaction(async (tx) => {
        await tx.query(`LOCK TABLE ${Object.keys(TABLES).join(', ')} IN EXCLUSIVE MODE`);
        await refuseUnlessEmpty(tx, url);
        // The empty schema's own rows (the world chat, the rev counter) are replaced by the install's.
        await tx.query('DELETE FROM conversations');
        await tx.query('DELETE FROM counters');
        for (const [table, columns] of Object.entries(TABLES) as [TableName, readonly string[]][]) {
          await copyTable(sqlite, tx, table, columns);
        }
        await tx.query("SELECT setval(pg_get_serial_sequence('users', 'id'), max(id)) FROM users HAVING max(id) IS NOT NULL");
        // The devices that logged in before keep being known (their tokens are signed with this key).
        const deviceKey = join(dataDir, DEVICE_KEY_FILE);
        if (existsSync(deviceKey)) {
          await tx.query('INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value', [
            DEVICE_KEY_SECRET,
            readFileSync(deviceKey),
          ]);
        }
        // The files' bytes too: a node on PostgreSQL reads them from the database, not the data folder.
        await copyBlobs(join(dataDir, 'files'), tx);
        return verify(sqlite, tx);
      });
    } finally {
      sqlite.exec('COMMIT');
    }
  } finally {
    sqlite.close();
    await pg.close();
  }
}

async function refuseUnlessEmpty(tx: Queryable, url: string): Promise<void> {
  const { rows } = await tx.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM messages) + (SELECT count(*) FROM files)
          + (SELECT count(*) FROM conversations WHERE id <> 'world') AS n`,
  );
  if (rows[0]!.n > 0) throw new MigrateError(`${redactedUrl(url)} already holds Parley data: migrate only into an empty database.`);
}

async function copyTable(sqlite: Database.Database, tx: Queryable, table: TableName, columns: readonly string[]): Promise<void> {
  const insert = async (rows: unknown[][]) => {
    const values = rows.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
    await tx.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')}`, rows.flat());
  };
  let chunk: unknown[][] = [];
  for (const row of sqlite.prepare(`SELECT ${columns.join(', ')} FROM ${table}`).raw().iterate() as Iterable<unknown[]>) {
    chunk.push(row);
    if (chunk.length === CHUNK) {
      await insert(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) await insert(chunk);
}

/** Counts every table on both sides, and each conversation's messages and last seq: all must be equal. */
async function verify(sqlite: Database.Database, tx: Queryable): Promise<MigrateCounts> {
  const counts = {} as MigrateCounts;
  for (const table of Object.keys(TABLES) as TableName[]) {
    const expected = (sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const { rows } = await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
    if (rows[0]!.n !== expected) throw new MigrateError(`${table}: ${expected} rows in SQLite but ${rows[0]!.n} copied; nothing was kept.`);
    counts[table] = expected;
  }
  const perConversation = `SELECT c.id, c.last_seq, count(m.seq) AS n, coalesce(max(m.seq), 0) AS top
    FROM conversations c LEFT JOIN messages m ON m.conv_id = c.id GROUP BY c.id, c.last_seq ORDER BY c.id`;
  const key = (row: { id: string; last_seq: number; n: number; top: number }) => `${row.id} ${row.last_seq} ${row.n} ${row.top}`;
  const expected = (sqlite.prepare(perConversation).all() as { id: string; last_seq: number; n: number; top: number }[]).map(key).sort();
  const { rows } = await tx.query<{ id: string; last_seq: number; n: number; top: number }>(perConversation);
  const copied = rows.map(key).sort();
  if (JSON.stringify(copied) !== JSON.stringify(expected)) throw new MigrateError('The conversations\' messages differ after the copy; nothing was kept.');
  return counts;
}
