import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../store-contract.ts';
import { SqliteStore } from './sqlite-store.ts';

storeContract('SQLite', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'parley-store-')), 'parley.sqlite');
  return { store: new SqliteStore(file), reopen: async () => new SqliteStore(file) };
});
