import { describe } from 'vitest';
import { hasPostgres, privatePostgres } from '../../../../test/support/postgres.ts';
import { storeContract } from '../store-contract.ts';
import { PostgresStore } from './postgres-store.ts';

describe.runIf(hasPostgres)('PostgreSQL', () => {
  const postgres = privatePostgres();

  storeContract('PostgreSQL', async () => {
    const url = await postgres().createDatabase();
    return { store: await PostgresStore.open(url), reopen: () => PostgresStore.open(url) };
  });
});
