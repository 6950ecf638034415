import type { Durability } from './sqlite/open-database.ts';
import { PostgresStore } from './postgres/postgres-store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';

/** Where everything is stored: a SQLite file in the data folder (one node), or a PostgreSQL database (`--database`). */
export type DatabaseSetting = { kind: 'sqlite' } | { kind: 'postgres'; url: string };

/** The database could not be opened (unreachable, refused, a schema newer than this code): Parley does not start. */
export class StoreUnavailableError extends Error {}

/** The URL without its password, for messages and logs. */
export function redactedUrl(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed) return '(not a URL)';
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export async function openStore(setting: DatabaseSetting, sqliteFile: string, durability: Durability): Promise<Store> {
  if (setting.kind === 'sqlite') return new SqliteStore(sqliteFile, durability);
  try {
    return await PostgresStore.open(setting.url);
  } catch (error) {
    throw new StoreUnavailableError(`Cannot use the PostgreSQL database ${redactedUrl(setting.url)}: ${(error as Error).message}`, { cause: error });
  }
}
