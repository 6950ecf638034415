import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DatabaseSetting } from '../storage/open-store.ts';
import type { PostgresStore } from '../storage/postgres/postgres-store.ts';
import type { Store } from '../storage/store.ts';
import { FileAcmeStore, type AcmeStore } from './acme-store.ts';
import { PostgresAcmeStore } from './postgres-acme-store.ts';

/**
 * Where `--tls acme` keeps its account, certificate and open challenges, chosen with the
 * database: the data folder on one node (SQLite), the database itself on PostgreSQL, where every
 * node of a cluster reaches them (acme-store.ts says why).
 */
export function acmeStoreFor(store: Store, database: DatabaseSetting['kind'], dataDir: string, log: Pick<Logger, 'info' | 'warn'>): AcmeStore {
  // The adapter takes the store's pool; it imports no driver of its own (a single node never loads `pg`).
  if (database === 'postgres') return new PostgresAcmeStore((store as PostgresStore).db, log);
  return new FileAcmeStore(join(dataDir, 'acme'));
}
