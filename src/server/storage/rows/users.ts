import type { UserRecord } from '../store.ts';

/*
 * A user's row, shared by both SQL adapters (sqlite/, postgres/): both databases have the same
 * `users` columns and return them under these names, so the column list and the mapping are
 * written once. USER_COLUMNS holds no placeholder: each adapter appends its own WHERE (`?` or `$1`).
 */

export type UserRow = { id: number; name: string; name_key: string; password_hash: string; created_at: number };

export function toUserRecord(row: UserRow | undefined): UserRecord | null {
  if (!row) return null;
  return { id: row.id, name: row.name, nameKey: row.name_key, passwordHash: row.password_hash, createdAt: row.created_at };
}

export const USER_COLUMNS = 'id, name, name_key, password_hash, created_at';
