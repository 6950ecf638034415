import type { Readable, Writable } from 'node:stream';

/**
 * Where file bytes live: local disk by default (local-blob-store.ts); shared or object storage
 * for a cluster implements the same few calls. A blob is written once, front to back, possibly
 * over several requests (resumable), then sealed; only sealed blobs are read by recipients.
 * Ids are the server's random file ids, never user input.
 */
export interface BlobStore {
  /** Bytes held of the unsealed blob `id` (0 when there is none). */
  partialSize(id: string): Promise<number>;
  /** A stream that appends to the unsealed blob, which must hold exactly `offset` bytes. Its end makes the bytes durable. */
  append(id: string, offset: number): Promise<Writable>;
  /** Bytes [start, end) of the unsealed blob (to re-hash what an interrupted upload left). */
  readPartial(id: string, start: number, end: number): Readable;
  /** The upload is complete and verified: the blob becomes readable. */
  seal(id: string): Promise<void>;
  /** Bytes [start, end] (inclusive, as in HTTP ranges) of a sealed blob. */
  read(id: string, start: number, end: number): Readable;
  /** Removes the blob, sealed or not; no error when it is absent. */
  delete(id: string): Promise<void>;
  /** Free space for new bytes, or null when the store cannot tell. */
  freeBytes(): Promise<number | null>;
}
