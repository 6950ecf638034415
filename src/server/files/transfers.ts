import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FileCard, UserRef } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';
import { scavenger } from '../../lib/node-memory.ts';
import type { Files } from './files.ts';
import { parseRange, type ByteRange } from './range.ts';
import { UploadSessions } from './upload-sessions.ts';
import { NO_EVENTS, type ServerEvents } from '../metrics/server-events.ts';

export interface UploadRequest {
  /** The request's Upload-Offset. */
  offset: number;
  /** Content-Length, or null for a chunked body. */
  contentLength: number | null;
  body: Readable;
}

/** Progress frames go out at most this often per upload. */
const PROGRESS_EVERY_MS = 250;
/** What a sender cut off by a shutdown is told to wait before asking where to resume. */
const RESTART_RETRY_MS = 1000;

/**
 * Moving bytes: the resumable upload (the core of tus 1.0: HEAD says how many bytes the server
 * holds, PATCH appends at exactly that offset) and ranged downloads. The upload streams to the
 * blob store while hashing, with memory bounded by the stream buffers whatever the size.
 *
 * Node cannot save a hash's internal state, so the running SHA-256 of an interrupted upload
 * lives in memory; after a restart the bytes already on disk are hashed again before the
 * upload continues. Every hashed byte is written before the request ends (the stream to disk
 * is ended, not destroyed), so the kept hash and the bytes on disk agree; when they might not
 * (a disk error), the hash is dropped and rebuilt from disk next time.
 */
export class Transfers {
  private readonly downloads = new Set<Readable>();
  private closing = false;

  constructor(
    private readonly files: Files,
    /** Shared with Files only through its UploadGuard view (cancel, expiry). */
    readonly sessions: UploadSessions,
    private readonly traffic: Pick<ServerEvents, 'fileBytesIn' | 'fileBytesOut'> = NO_EVENTS,
  ) {}

  /** HEAD: where the sender resumes. */
  async offset(user: UserRef, id: string): Promise<{ offset: number; size: number }> {
    await this.senderCard(user, id);
    // A request still running is one the sender has left (it asks because it wants to resume):
    // stop it, so that the offset answered is final.
    await this.sessions.takeOver(id);
    const card = await this.senderCard(user, id);
    if (card.state === 'completed') return { offset: card.size, size: card.size };
    if (card.state !== 'accepted') throw notUploadable(card);
    return { offset: await this.files.blobs.partialSize(id), size: card.size };
  }

  /** PATCH: appends the body at its offset; completes (and verifies) the file on its last byte. */
  async append(user: UserRef, id: string, request: UploadRequest): Promise<{ offset: number; file: FileCard }> {
    const before = await this.senderCard(user, id);
    if (before.state !== 'accepted') throw notUploadable(before);
    if (this.closing) throw shuttingDown();
    const session = await this.sessions.begin(id);
    try {
      // Read again under the lock: a request that wound down meanwhile may have moved it on.
      const card = await this.senderCard(user, id);
      if (card.state !== 'accepted') throw notUploadable(card);
      if (this.closing) throw shuttingDown();
      const held = await this.files.blobs.partialSize(id);
      if (request.offset !== held) {
        throw new ParleyError('UPLOAD_OFFSET_MISMATCH', `The server holds ${held} bytes of this file; resume with Upload-Offset: ${held}.`);
      }
      if (request.contentLength !== null && held + request.contentLength > card.size) {
        await this.files.fail(card, 'UPLOAD_EXCEEDS_OFFER');
        throw exceeds(card);
      }
      const free = await this.files.blobs.freeBytes();
      if (free !== null && free < card.size - held) {
        throw new ParleyError('STORAGE_FULL', `The server has ${free} bytes free; ${card.size - held} more are needed.`);
      }
      return await this.receive(card, held, await this.hashOf(card, held), request.body, session.signal);
    } finally {
      await session.finish();
    }
  }

  /** GET content: the stream of a completed file, whole or one range. */
  async download(user: UserRef, id: string, headers: { range?: string; ifRange?: string }) {
    const file = await this.files.downloadable(user, id);
    const etag = `"${file.sha256}"`;
    let range: ByteRange | 'unsatisfiable' | null = parseRange(headers.range, file.size);
    // If-Range: resume only if it is still the same file; otherwise send it whole.
    if (range !== null && headers.ifRange !== undefined && headers.ifRange !== etag) range = null;
    if (range === 'unsatisfiable') return { file, etag, range, stream: null };
    const { start, end } = range ?? { start: 0, end: file.size - 1 };
    const stream = file.size === 0 ? null : this.files.blobs.read(id, start, end);
    if (stream) {
      const scavenge = scavenger();
      stream.on('data', (chunk: Buffer) => {
        scavenge(chunk.length);
        this.traffic.fileBytesOut(chunk.length);
      });
      this.downloads.add(stream);
      stream.once('close', () => this.downloads.delete(stream));
    }
    return { file, etag, range, start, end, stream };
  }

  /**
   * Shutdown: cut off running uploads and downloads. An upload is told SHUTTING_DOWN (503 with
   * Retry-After), not FILE_GONE: its bytes are kept and it resumes after the restart.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const stream of this.downloads) stream.destroy();
    await this.sessions.abortAll(shuttingDown(), 3000);
  }

  private async receive(card: FileCard, held: number, hash: Hash, body: Readable, signal: AbortSignal) {
    const out = await this.files.blobs.append(card.id, held);
    let writeError: Error | null = null;
    out.on('error', (error) => (writeError ??= error));
    let failure: unknown = null;
    let received = held;
    const clock = this.files.clock;
    let progressAt = clock.now();
    const scavenge = scavenger();
    // An abort (cancel, shutdown) leaves the loop without destroying the request: destroying it
    // would reset the socket, and the sender would never read why it stopped. Each wait has its
    // own listener, so nothing long-lived keeps a reference to the chunks that went by.
    // destroyOnReturn: false, so that leaving the loop early does not tear down the socket
    // before the answer is written.
    const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
    const nextOrStop = () =>
      new Promise<IteratorResult<Buffer> | 'stopped'>((resolve, reject) => {
        if (signal.aborted) return resolve('stopped');
        const stop = () => resolve('stopped');
        signal.addEventListener('abort', stop, { once: true });
        chunks.next().then(
          (next) => (signal.removeEventListener('abort', stop), resolve(next)),
          (error: unknown) => (signal.removeEventListener('abort', stop), reject(error)),
        );
      });
    try {
      for (;;) {
        const next = await nextOrStop();
        if (next === 'stopped' || next.done) break;
        const chunk = next.value;
        if (received + chunk.length > card.size) {
          failure = exceeds(card);
          break;
        }
        hash.update(chunk);
        received += chunk.length;
        scavenge(chunk.length);
        this.traffic.fileBytesIn(chunk.length);
        if (!out.write(chunk)) await once(out, 'drain');
        if (writeError) break;
        if (clock.now() - progressAt >= PROGRESS_EVERY_MS) {
          progressAt = clock.now();
          this.files.progress(card, received);
        }
      }
    } catch (error) {
      failure = error;
    }
    // End, not destroy: every byte hashed so far reaches the disk, and is fsynced.
    try {
      out.end();
      await finished(out);
    } catch (error) {
      writeError ??= error as Error;
    }
    // Kept for the next request, unless the disk may disagree with it, or the transfer was
    // cancelled meanwhile (the cancel freed what it held; keeping it now would leak it).
    // A shutdown or a newer request of the upload stops this one with a reason, and keeps it.
    const stoppedFor = signal.aborted && signal.reason instanceof ParleyError ? signal.reason : null;
    const cancelled = signal.aborted && !stoppedFor;
    if (writeError || cancelled) this.sessions.dropHash(card.id);
    else this.sessions.keepHash(card.id, hash, received);

    if (failure instanceof ParleyError && failure.code === 'UPLOAD_EXCEEDS_OFFER') {
      this.sessions.dropHash(card.id);
      await this.files.fail(card, 'UPLOAD_EXCEEDS_OFFER');
      throw failure;
    }
    if (signal.aborted) {
      // A shutdown or a newer request keeps what arrived and records it; a cancel has discarded it already.
      if (stoppedFor) {
        if (!writeError) await this.files.uploaded(card, received);
        throw stoppedFor;
      }
      throw new ParleyError('FILE_GONE', 'The transfer was cancelled while this request ran.');
    }
    if (writeError) {
      await this.files.uploaded(card, await this.files.blobs.partialSize(card.id));
      if ((writeError as NodeJS.ErrnoException).code === 'ENOSPC') throw new ParleyError('STORAGE_FULL');
      throw writeError;
    }
    if (failure) {
      // The client went away mid-body: what arrived is kept, and the upload resumes from there.
      await this.files.uploaded(card, received);
      throw new ParleyError('UPLOAD_INTERRUPTED');
    }
    if (received < card.size) {
      await this.files.uploaded(card, received);
      return { offset: received, file: { ...card, received } };
    }
    this.sessions.dropHash(card.id);
    return { offset: received, file: await this.files.complete(card, hash.digest('hex')) };
  }

  /** The running hash of the first `held` bytes: kept from the last request, or rebuilt from disk. */
  private async hashOf(card: FileCard, held: number): Promise<Hash> {
    const kept = this.sessions.takeHash(card.id, held);
    if (kept) return kept;
    const hash = createHash('sha256');
    const scavenge = scavenger();
    if (held > 0) {
      for await (const chunk of this.files.blobs.readPartial(card.id, 0, held)) {
        hash.update(chunk as Buffer);
        scavenge((chunk as Buffer).length);
      }
    }
    return hash;
  }

  /** The upload URL is the sender's: to the recipient (and anyone else) it does not exist. */
  private async senderCard(user: UserRef, id: string): Promise<FileCard> {
    const card = await this.files.get(user, id);
    if (card.from.id !== user.id) throw new ParleyError('NOT_FOUND', 'No such upload.');
    return card;
  }
}

function notUploadable(card: FileCard): ParleyError {
  if (card.state === 'offered') return new ParleyError('FILE_STATE', 'The recipient has not accepted the file yet.');
  if (card.state === 'completed') return new ParleyError('FILE_STATE', 'The file is already complete.');
  return new ParleyError('FILE_GONE', `The transfer is over (${card.state}).`);
}

function shuttingDown(): ParleyError {
  return new ParleyError('SHUTTING_DOWN', 'The server is restarting; ask where to resume (HEAD) shortly.', { retryAfterMs: RESTART_RETRY_MS });
}

function exceeds(card: FileCard): ParleyError {
  return new ParleyError('UPLOAD_EXCEEDS_OFFER', `The offer said ${card.size} bytes; the upload went past that and was discarded.`);
}
