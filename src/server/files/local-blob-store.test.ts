import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobStoreContract } from './blob-store-contract.ts';
import { LocalBlobStore } from './local-blob-store.ts';

blobStoreContract('local disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-blobs-'));
  return { blobs: new LocalBlobStore(join(dir, 'files')), close: () => rm(dir, { recursive: true, force: true }) };
});
