import { createReadStream, existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FILE_ID_PATTERN } from '../../protocol/index.ts';
import { CHUNK_BYTES } from '../files/postgres-blob-store.ts';
import type { Queryable } from '../storage/postgres/database.ts';

/**
 * The bytes of a single node's files (`<data>/files`: `<id>` sealed, `<id>.part` uploading) into
 * the database, where a node on PostgreSQL reads them (files/postgres-blob-store.ts), in the
 * copy's transaction, one chunk in memory at a time. Returns how many blobs were copied.
 */
export async function copyBlobs(dir: string, tx: Queryable): Promise<number> {
  if (!existsSync(dir)) return 0;
  let copied = 0;
  for (const name of await readdir(dir)) {
    const sealed = !name.endsWith('.part');
    const id = sealed ? name : name.slice(0, -'.part'.length);
    if (!FILE_ID_PATTERN.test(id)) continue;
    await tx.query('INSERT INTO file_blobs (id, sealed) VALUES ($1, $2)', [id, sealed]);
    let size = 0;
    for await (const chunk of createReadStream(join(dir, name), { highWaterMark: CHUNK_BYTES })) {
      await tx.query('INSERT INTO file_chunks (blob_id, start, bytes) VALUES ($1, $2, $3)', [id, size, chunk]);
      size += (chunk as Buffer).length;
    }
    await tx.query('UPDATE file_blobs SET size = $2 WHERE id = $1', [id, size]);
    copied++;
  }
  return copied;
}
