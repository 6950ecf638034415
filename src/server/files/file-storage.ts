import { join } from 'node:path';
import { PostgresStore } from '../storage/postgres/postgres-store.ts';
import type { Store } from '../storage/store.ts';
import type { BlobStore } from './blob-store.ts';
import { LocalBlobStore } from './local-blob-store.ts';
import { PostgresBlobStore } from './postgres-blob-store.ts';

/**
 * Where file bytes live, chosen with the database: the data folder on one node (SQLite), the
 * database itself when it is PostgreSQL, so that every node of a cluster reaches them.
 * See docs/ARCHITECTURE.md, "Files across nodes".
 */
export function blobStoreFor(store: Store, dataDir: string): BlobStore {
  return store instanceof PostgresStore ? new PostgresBlobStore(store.db) : new LocalBlobStore(join(dataDir, 'files'));
}
