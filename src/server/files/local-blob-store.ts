import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FILE_ID_PATTERN } from '../../protocol/index.ts';
import type { BlobStore } from './blob-store.ts';

/**
 * Blobs as files in one folder (by default `<data>/files`): `<id>.part` while uploading,
 * `<id>` once sealed. The id is checked against the random-id pattern before it touches a path,
 * so no name from outside can point anywhere else.
 */
export class LocalBlobStore implements BlobStore {
  private ready: Promise<unknown> | null = null;
  /** Users' files are for the two members of a DM, through the server: nobody else on the host reads them. */
  private readonly mkdir = () => mkdir(this.dir, { recursive: true, mode: 0o700 });

  constructor(readonly dir: string) {}

  async partialSize(id: string): Promise<number> {
    try {
      return (await stat(this.partPath(id))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  }

  async append(id: string, offset: number): Promise<Writable> {
    await (this.ready ??= this.mkdir());
    // `flush` fsyncs before close: an offset the server reports is an offset it still has after a crash.
    // Mode 0600 when created; sealing renames, so the sealed blob keeps it.
    const options = { flush: true, highWaterMark: 1024 * 1024, mode: 0o600 };
    return offset === 0
      ? createWriteStream(this.partPath(id), { ...options, flags: 'w' })
      : createWriteStream(this.partPath(id), { ...options, flags: 'r+', start: offset });
  }

  readPartial(id: string, start: number, end: number): Readable {
    return createReadStream(this.partPath(id), { start, end: end - 1, highWaterMark: 1024 * 1024 });
  }

  async seal(id: string): Promise<void> {
    await rename(this.partPath(id), this.path(id));
  }

  read(id: string, start: number, end: number): Readable {
    return createReadStream(this.path(id), { start, end, highWaterMark: 256 * 1024 });
  }

  async delete(id: string): Promise<void> {
    await rm(this.partPath(id), { force: true });
    await rm(this.path(id), { force: true });
  }

  async freeBytes(): Promise<number | null> {
    await (this.ready ??= this.mkdir());
    const fs = await statfs(this.dir);
    return fs.bavail * fs.bsize;
  }

  private path(id: string): string {
    if (!FILE_ID_PATTERN.test(id)) throw new Error(`not a file id: ${JSON.stringify(id)}`);
    return join(this.dir, id);
  }

  private partPath(id: string): string {
    return `${this.path(id)}.part`;
  }
}
