import { join } from 'node:path';
import type { DatabaseSetting } from '../storage/open-store.ts';
import type { PostgresStore } from '../storage/postgres/postgres-store.ts';
import type { Store } from '../storage/store.ts';
import type { BlobStore } from './blob-store.ts';
import { LocalBlobStore } from './local-blob-store.ts';
import { ALONE, type OneAtATime } from './one-at-a-time.ts';
import { PostgresBlobStore } from './postgres-blob-store.ts';
import { PostgresSweepLock } from './postgres-sweep-lock.ts';
import { PostgresUploadLeases } from './postgres-upload-leases.ts';
import type { UploadLeases } from './upload-leases.ts';

/**
 * Where file bytes live and who may append to an upload, chosen with the database: the data
 * folder and this process's memory on one node (SQLite); the database itself when it is
 * PostgreSQL, so that every node of a cluster reaches the bytes and sees the leases, and the
 * expiry sweep runs on one node at a time.
 * See docs/ARCHITECTURE.md, "Files across nodes".
 */
export function fileStorageFor(
  store: Store,
  database: DatabaseSetting['kind'],
  dataDir: string,
): { blobs: BlobStore; leases: UploadLeases | null; sweeps: OneAtATime } {
  // The adapters take the store's pool; they import no driver of their own (a single node never loads `pg`).
  if (database === 'postgres') {
    const { db } = store as PostgresStore;
    return { blobs: new PostgresBlobStore(db), leases: new PostgresUploadLeases(db), sweeps: new PostgresSweepLock(db) };
  }
  return { blobs: new LocalBlobStore(join(dataDir, 'files')), leases: null, sweeps: ALONE };
}
