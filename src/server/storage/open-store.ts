import type { Durability } from './sqlite/open-database.ts';
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

/**
 * The store, and where secrets every node must share live: in the database on PostgreSQL (any
 * node may serve any request), in the data folder on one node (null here).
 */
export async function openStore(
  setting: DatabaseSetting,
  sqliteFile: string,
  durability: Durability,
): Promise<{ store: Store; sharedSecret: ((name: string, fresh: Buffer) => Promise<Buffer>) | null }> {
  if (setting.kind === 'sqlite') return { store: new SqliteStore(sqliteFile, durability), sharedSecret: null };
  try {
    // Loaded only here: a single node never pays for the PostgreSQL driver (idle memory, start time).
    const { PostgresStore } = await import('./postgres/postgres-store.ts');
    const store = await PostgresStore.open(setting.url);
    return { store, sharedSecret: (name, fresh) => store.sharedSecret(name, fresh) };
  } catch (error) {
    throw new StoreUnavailableError(`Cannot use the PostgreSQL database ${redactedUrl(setting.url)}: ${(error as Error).message}`, { cause: error });
  }
}
