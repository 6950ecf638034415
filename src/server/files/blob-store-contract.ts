import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { newFileId } from './files.ts';
import type { BlobStore } from './blob-store.ts';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Writes `data` to the blob at `offset` in pieces of `piece` bytes, as an upload request does. */
async function write(blobs: BlobStore, id: string, offset: number, data: Buffer, piece = 64 * 1024): Promise<void> {
  const out = await blobs.append(id, offset);
  for (let at = 0; at < data.length; at += piece) {
    if (!out.write(data.subarray(at, at + piece))) await new Promise((resolve) => out.once('drain', resolve));
  }
  out.end();
  await finished(out);
}

/** The BlobStore port's behaviour, run against every adapter (local disk, PostgreSQL). */
export function blobStoreContract(name: string, open: () => Promise<{ blobs: BlobStore; close?: () => Promise<void> }>): void {
  describe(`BlobStore contract: ${name}`, () => {
    const closes: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const close of closes.splice(0)) await close();
    });
    const fresh = async () => {
      const opened = await open();
      if (opened.close) closes.push(opened.close);
      return opened.blobs;
    };

    it('holds nothing of a blob never written', async () => {
      const blobs = await fresh();
      expect(await blobs.partialSize(newFileId())).toBe(0);
    });

    it('keeps what each request appended, resumes at that offset, and reads back every byte once sealed', async () => {
      const blobs = await fresh();
      const id = newFileId();
      const data = randomBytes(2.5 * 1024 * 1024 + 123);
      const cut = 1024 * 1024 + 4567;
      await write(blobs, id, 0, data.subarray(0, cut));
      expect(await blobs.partialSize(id)).toBe(cut);
      expect((await bytesOf(blobs.readPartial(id, 0, cut))).equals(data.subarray(0, cut))).toBe(true);
      await write(blobs, id, cut, data.subarray(cut));
      expect(await blobs.partialSize(id)).toBe(data.length);
      await blobs.seal(id);
      expect((await bytesOf(blobs.read(id, 0, data.length - 1))).equals(data)).toBe(true);
    });

    it('reads any inclusive range of a sealed blob, across chunk boundaries', async () => {
      const blobs = await fresh();
      const id = newFileId();
      const data = randomBytes(3 * 1024 * 1024);
      await write(blobs, id, 0, data, 300_000);
      await blobs.seal(id);
      for (const [start, end] of [[0, 0], [1024 * 1024 - 1, 1024 * 1024], [5, 2 * 1024 * 1024 + 17], [data.length - 1, data.length - 1]] as const) {
        expect((await bytesOf(blobs.read(id, start, end))).equals(data.subarray(start, end + 1))).toBe(true);
      }
    });

    it('starts over when written again from offset 0', async () => {
      const blobs = await fresh();
      const id = newFileId();
      await write(blobs, id, 0, Buffer.from('first attempt, longer'));
      await write(blobs, id, 0, Buffer.from('second'));
      expect(await blobs.partialSize(id)).toBe(6);
      await blobs.seal(id);
      expect((await bytesOf(blobs.read(id, 0, 5))).toString()).toBe('second');
    });

    it('seals an empty blob', async () => {
      const blobs = await fresh();
      const id = newFileId();
      await write(blobs, id, 0, Buffer.alloc(0));
      await blobs.seal(id);
      expect(await blobs.partialSize(id)).toBe(0);
    });

    it('deletes a blob, sealed or not, and deleting one that is absent is no error', async () => {
      const blobs = await fresh();
      const [sealed, partial] = [newFileId(), newFileId()];
      await write(blobs, sealed, 0, Buffer.from('sealed'));
      await blobs.seal(sealed);
      await write(blobs, partial, 0, Buffer.from('partial'));
      await blobs.delete(sealed);
      await blobs.delete(partial);
      await blobs.delete(newFileId());
      expect(await blobs.partialSize(partial)).toBe(0);
      await expect(bytesOf(blobs.read(sealed, 0, 5))).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(blobs.seal(partial)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
}
