import { Readable, Writable } from 'node:stream';
import type { Database } from '../storage/postgres/database.ts';
import type { BlobStore } from './blob-store.ts';

/** What one row holds, and what a writer buffers at most before it stores a row. */
export const CHUNK_BYTES = 1024 * 1024;

/**
 * Blobs as rows of about 1 MiB in PostgreSQL (`file_blobs`, `file_chunks`), so that every node of
 * a cluster reaches the bytes an upload left on another. Memory stays bounded whatever the file's
 * size: a writer holds at most one chunk, a reader fetches one chunk at a time as it is read.
 * Each chunk is stored with the blob's new size in one statement that checks the old size, so
 * the bytes and the size reported to a resuming sender never disagree, and a writer that lost
 * its upload to another (files/postgres-upload-leases.ts) fails rather than interleaves.
 * See docs/ARCHITECTURE.md, "Files across nodes".
 */
export class PostgresBlobStore implements BlobStore {
  constructor(private readonly db: Database) {}

  async partialSize(id: string): Promise<number> {
    const { rows } = await this.db.query<{ size: number }>('SELECT size FROM file_blobs WHERE id = $1 AND NOT sealed', [id]);
    return rows[0]?.size ?? 0;
  }

  async append(id: string, offset: number): Promise<Writable> {
    if (offset === 0) {
      // From the start, as a new file: whatever an earlier attempt left goes (the chunks with their blob).
      await this.db.transaction(async (tx) => {
        await tx.query('DELETE FROM file_blobs WHERE id = $1', [id]);
        await tx.query('INSERT INTO file_blobs (id) VALUES ($1)', [id]);
      });
    } else if ((await this.partialSize(id)) !== offset) {
      throw new Error(`blob ${id} does not hold ${offset} bytes`);
    }
    return new ChunkWriter(this.db, id, offset);
  }

  readPartial(id: string, start: number, end: number): Readable {
    return Readable.from(this.chunks(id, false, start, end), { objectMode: false });
  }

  async seal(id: string): Promise<void> {
    const sealed = await this.db.query('UPDATE file_blobs SET sealed = true WHERE id = $1', [id]);
    // As a missing file is on disk: Files.complete reads ENOENT as "discarded meanwhile".
    if (sealed.rowCount === 0) throw Object.assign(new Error(`no blob ${id}`), { code: 'ENOENT' });
  }

  read(id: string, start: number, end: number): Readable {
    return Readable.from(this.chunks(id, true, start, end + 1), { objectMode: false });
  }

  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM file_blobs WHERE id = $1', [id]);
  }

  /** The database's disk is not this node's to measure. */
  async freeBytes(): Promise<number | null> {
    return null;
  }

  /** Bytes [start, end) of the blob, one chunk (or the part of it in range) per query. */
  private async *chunks(id: string, sealed: boolean, start: number, end: number): AsyncGenerator<Buffer> {
    let at = start;
    while (at < end) {
      // The chunk that holds byte `at`, cut to the range by the database (cheap on EXTERNAL storage).
      const { rows } = await this.db.query<{ start: number; bytes: Buffer }>(
        `SELECT c.start, substring(c.bytes FROM ($2::bigint - c.start + 1)::int FOR least($3::bigint - $2::bigint, $5)::int) AS bytes
           FROM file_chunks c JOIN file_blobs b ON b.id = c.blob_id
          WHERE c.blob_id = $1 AND b.sealed = $4 AND c.start <= $2 ORDER BY c.start DESC LIMIT 1`,
        [id, at, end, sealed, CHUNK_BYTES],
      );
      const bytes = rows[0]?.bytes;
      if (!bytes || bytes.length === 0) throw Object.assign(new Error(`blob ${id} has no byte ${at}`), { code: 'ENOENT' });
      at += bytes.length;
      yield bytes;
    }
  }
}

/** Appends to one unsealed blob: buffers up to a chunk, stores it, and stores the rest on end. */
class ChunkWriter extends Writable {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(
    private readonly db: Database,
    private readonly id: string,
    private size: number,
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes < CHUNK_BYTES) return callback();
    this.storeFull().then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.store(Buffer.concat(this.buffered)).then(() => callback(), callback);
  }

  private async storeFull(): Promise<void> {
    while (this.bufferedBytes >= CHUNK_BYTES) {
      const all = Buffer.concat(this.buffered);
      this.buffered = [all.subarray(CHUNK_BYTES)];
      this.bufferedBytes = all.length - CHUNK_BYTES;
      await this.store(all.subarray(0, CHUNK_BYTES));
    }
  }

  private async store(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    const stored = await this.db.query(
      `WITH grown AS (UPDATE file_blobs SET size = size + $3 WHERE id = $1 AND size = $2 AND NOT sealed RETURNING id)
       INSERT INTO file_chunks (blob_id, start, bytes) SELECT id, $2, $4 FROM grown`,
      [this.id, this.size, bytes.length, bytes],
    );
    if (stored.rowCount !== 1) throw new Error(`blob ${this.id} changed under this upload (not ${this.size} bytes any more)`);
    this.size += bytes.length;
  }
}
