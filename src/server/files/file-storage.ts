import { join } from 'node:path';
import { PostgresStore } from '../storage/postgres/postgres-store.ts';
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
export function fileStorageFor(store: Store, dataDir: string): { blobs: BlobStore; leases: UploadLeases | null; sweeps: OneAtATime } {
  if (store instanceof PostgresStore) {
    return { blobs: new PostgresBlobStore(store.db), leases: new PostgresUploadLeases(store.db), sweeps: new PostgresSweepLock(store.db) };
  }
  return { blobs: new LocalBlobStore(join(dataDir, 'files')), leases: null, sweeps: ALONE };
}
