import { ParleyError } from '../errors.ts';
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
 * Why the database at `url` could not be used, for the operator starting a node or a migration:
 * the driver's own words (refused, wrong password, unknown database, a newer schema), not the
 * retry advice a client gets for the same failure, and never the URL's password.
 */
export function cannotUseDatabase(url: string, error: unknown): string {
  return `Cannot use the PostgreSQL database ${redactedUrl(url)}: ${rootReason(error)}`;
}

/** The first failure that says something: through a client-facing wrapper to its cause, and into each attempt of an AggregateError (one per address tried). */
function rootReason(error: unknown): string {
  if (error instanceof ParleyError && error.cause !== undefined) return rootReason(error.cause);
  if (error instanceof AggregateError && error.errors.length > 0) return [...new Set(error.errors.map(rootReason))].join('; ');
  const message = error instanceof Error ? error.message : String(error);
  return message === '' ? String((error as { code?: unknown })?.code ?? 'unknown error') : message;
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
    throw new StoreUnavailableError(cannotUseDatabase(setting.url, error), { cause: error });
  }
}
