import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { downloadBlob, hashBlob } from '../src/client/browser-files.ts';
import { uploadFile } from '../src/client/node-files.ts';
import { offer, sha256, tempFile, threeUsers } from './support/files.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// The browser half of file transfer, on Node's own Blob and fetch. (The XMLHttpRequest upload
// runs only in a browser; the end-to-end tests cover it.)
let server: TestServer;
afterEach(() => server?.close());

describe('file transfer in the browser client', () => {
  it('hashes a Blob in slices to the same SHA-256 as one pass', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 123);
    const seen: number[] = [];
    expect(await hashBlob(new Blob([data]), { onProgress: (p) => seen.push(p.done) })).toBe(sha256(data));
    expect(seen.at(-1)).toBe(data.length);
  });

  it('downloads, verifies and confirms delivery; refuses bytes that do not match', async () => {
    server = await startTestServer();
    const { alice, bob, conv } = await threeUsers(server.url);
    const data = randomBytes(3 * 1024 * 1024);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    const { file } = await uploadFile(alice.files, card, await tempFile(data));
    const blob = await downloadBlob(bob.files, file);
    expect(Buffer.from(await blob.arrayBuffer()).equals(data)).toBe(true);
    expect((await bob.files.get(card.id)).deliveredAt).toBeGreaterThan(0);
    await expect(downloadBlob(bob.files, { ...file, sha256: sha256('other') })).rejects.toMatchObject({ code: 'FILE_HASH_MISMATCH' });
  });
});
