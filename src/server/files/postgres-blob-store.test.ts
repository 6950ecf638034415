import { describe } from 'vitest';
import { hasPostgres, privatePostgres } from '../../../test/support/postgres.ts';
import { PostgresStore } from '../storage/postgres/postgres-store.ts';
import { blobStoreContract } from './blob-store-contract.ts';
import { PostgresBlobStore } from './postgres-blob-store.ts';

describe.runIf(hasPostgres)('PostgreSQL blobs', () => {
  const postgres = privatePostgres();

  blobStoreContract('PostgreSQL', async () => {
    const store = await PostgresStore.open(await postgres().createDatabase());
    return { blobs: new PostgresBlobStore(store.db), close: () => store.close() };
  });
});
