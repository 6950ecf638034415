import { afterAll, beforeAll, describe } from 'vitest';
import { hasPostgres, TestPostgres } from '../../../../test/support/postgres.ts';
import { storeContract } from '../store-contract.ts';
import { PostgresStore } from './postgres-store.ts';

describe.runIf(hasPostgres)('PostgreSQL', () => {
  let postgres: TestPostgres;
  beforeAll(async () => {
    postgres = await TestPostgres.start();
  });
  afterAll(async () => {
    await postgres?.destroy();
  });

  storeContract('PostgreSQL', async () => {
    const url = await postgres.createDatabase();
    return { store: await PostgresStore.open(url), reopen: () => PostgresStore.open(url) };
  });
});
