import { storeContract } from '../store-contract.ts';
import { SqliteStore } from './sqlite-store.ts';
import { scratchDatabase } from '../../../../test/support/scratch.ts';

storeContract('SQLite', async () => {
  const file = scratchDatabase('store');
  return { store: new SqliteStore(file), reopen: async () => new SqliteStore(file) };
});
