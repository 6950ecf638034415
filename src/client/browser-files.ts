/**
 * Moving file bytes in the browser, for the web client's file card: hash a picked file in
 * slices (Web Crypto cannot hash incrementally, so @noble/hashes does), upload it resumably
 * with XMLHttpRequest (the only browser API that reports upload progress and streams a Blob
 * from disk), download it while hashing, and save it. Memory stays bounded: uploads send Blob
 * slices the browser reads from disk; downloads fold what arrived into Blobs every few MiB,
 * kept in IndexedDB (on disk, and across a page reload) or, without it, outside the JS heap.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { TUS_VERSION, UPLOAD_CONTENT_TYPE, fileUrls, type FileCard } from '../protocol/files.ts';
import { safeFileName } from '../protocol/file-names.ts';
import { openParts } from './download-store.ts';
import { ParleyClientError } from './errors.ts';
import { SpeedMeter, backoff, errorOf, retryable, type FileApi, type TransferProgress } from './files.ts';

const SLICE = 4 * 1024 * 1024;
/** Downloaded bytes are kept (IndexedDB, or a Blob in memory) this often, so a reload loses little. */
const KEEP_EVERY = 4 * 1024 * 1024;
const KEEP_EVERY_MS = 1000;
const MAX_ATTEMPTS = 8;

export { forgetAllDownloads, forgetDownload, heldDownloads, type HeldDownload } from './download-store.ts';

export interface BrowserTransferOptions {
  onProgress?: (progress: TransferProgress) => void;
  /** A download was confirmed to the server: the card now has its `deliveredAt`. */
  onDelivered?: (card: FileCard) => void;
  signal?: AbortSignal;
}

/** Lower-case hex SHA-256 of a Blob (a picked or dropped File), read 4 MiB at a time. */
export async function hashBlob(blob: Blob, options: BrowserTransferOptions = {}): Promise<string> {
  const hash = sha256.create();
  const meter = new SpeedMeter();
  for (let offset = 0; offset < blob.size; offset += SLICE) {
    if (options.signal?.aborted) throw new ParleyClientError('DISCONNECTED', 'Hashing was cancelled.');
    hash.update(new Uint8Array(await blob.slice(offset, offset + SLICE).arrayBuffer()));
    const done = Math.min(blob.size, offset + SLICE);
    options.onProgress?.({ done, total: blob.size, thisRun: done, bytesPerSecond: meter.sample(done) });
  }
  return hex(hash.digest());
}

/**
 * Uploads an accepted file from the Blob the sender picked (after a reload, the sender picks it
 * again; check its size and hash against the card first). Asks the server how much it holds,
 * sends the rest, and on a dropped connection asks again and goes on from there.
 */
export async function uploadBlob(files: FileApi, card: FileCard, blob: Blob, options: BrowserTransferOptions = {}) {
  if (blob.size !== card.size) throw new ParleyClientError('BAD_REQUEST', 'This is not the file that was offered (its size differs).');
  let resumedAt: number | null = null;
  let lastOffset: number | null = null;
  let sent = 0;
  const meter = new SpeedMeter();
  for (let attempt = 0; ; attempt++) {
    try {
      const offset = await files.uploadOffset(card.id);
      resumedAt ??= offset;
      // The last attempt moved bytes, so the way to the server works: count failures afresh
      // (a long upload may meet several drops or restarts).
      if (offset > (lastOffset ?? offset)) attempt = 0;
      lastOffset = offset;
      if (offset < card.size) {
        const before = sent;
        await patch(files, card, offset, blob.slice(offset), options.signal, (loaded) => {
          sent = before + loaded;
          options.onProgress?.({ done: offset + loaded, total: card.size, thisRun: sent, bytesPerSecond: meter.sample(sent) });
        });
      }
      return { file: await files.get(card.id), resumedAt, sent };
    } catch (error) {
      if (options.signal?.aborted || !retryable(error) || attempt + 1 >= MAX_ATTEMPTS) throw error;
      await backoff(attempt, error);
    }
  }
}

function patch(files: FileApi, card: FileCard, offset: number, body: Blob, signal: AbortSignal | undefined, onLoaded: (bytes: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PATCH', new URL(fileUrls.upload(card.id), files.api.baseUrl));
    xhr.setRequestHeader('Content-Type', UPLOAD_CONTENT_TYPE);
    xhr.setRequestHeader('Tus-Resumable', TUS_VERSION);
    xhr.setRequestHeader('Upload-Offset', String(offset));
    if (files.api.token) xhr.setRequestHeader('Authorization', `Bearer ${files.api.token}`);
    xhr.upload.onprogress = (event) => onLoaded(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      void errorOf(new Response(xhr.responseText || null, { status: xhr.status })).then(reject);
    };
    xhr.onerror = () => reject(new ParleyClientError('NETWORK', 'The upload connection dropped.'));
    xhr.onabort = () => reject(new ParleyClientError('DISCONNECTED', 'The upload was stopped.'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

/**
 * Downloads a completed file, resuming with Range (+ If-Range) after a dropped connection and,
 * where IndexedDB is available, after a page reload: the bytes go to IndexedDB as they arrive
 * (download-store.ts), at least every 4 MiB and every second. Checks size and SHA-256 before
 * handing the Blob over; a mismatch fails with FILE_HASH_MISMATCH and keeps nothing. Confirms
 * delivery to the server, so the sender sees "received". The caller forgets the held bytes
 * (`forgetDownload`) once it has saved the Blob.
 */
export async function downloadBlob(files: FileApi, card: FileCard, options: BrowserTransferOptions = {}): Promise<Blob> {
  const parts = await openParts(card);
  let have = parts.have;
  // Bytes an earlier page held cannot feed a running hash (it cannot be saved either), so a
  // resumed download is hashed whole at the end, read back 4 MiB at a time.
  let hash: ReturnType<typeof sha256.create> | null = have === 0 ? sha256.create() : null;
  let etag = parts.etag ?? `"${card.sha256}"`;
  let pending: BlobPart[] = [];
  let pendingBytes = 0;
  let keptAt = Date.now();
  const keep = async () => {
    if (pendingBytes === 0) return;
    const blob = new Blob(pending);
    pending = [];
    pendingBytes = 0;
    keptAt = Date.now();
    await parts.append(blob, etag);
  };
  const meter = new SpeedMeter();
  const resumedAt = have;
  try {
    for (let attempt = 0; have < card.size; attempt++) {
      try {
        const response = await files.send(fileUrls.content(card.id), {
          headers: have > 0 ? { range: `bytes=${have}-`, 'if-range': etag } : {},
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (!response.ok) throw await errorOf(response);
        if (have > 0 && response.status !== 206) {
          // If-Range did not match: the server sends another file whole. Start over with it.
          await parts.clear();
          have = 0;
          hash = sha256.create();
        }
        etag = response.headers.get('etag') ?? etag;
        const reader = response.body!.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (have + value.length > card.size) throw new ParleyClientError('FILE_HASH_MISMATCH', 'The server sent more bytes than offered.');
          hash?.update(value);
          pending.push(value);
          have += value.length;
          pendingBytes += value.length;
          if (pendingBytes >= KEEP_EVERY || Date.now() - keptAt >= KEEP_EVERY_MS) await keep();
          options.onProgress?.({ done: have, total: card.size, thisRun: have - resumedAt, bytesPerSecond: meter.sample(have - resumedAt) });
        }
        await keep();
      } catch (error) {
        // What arrived before the drop is kept, for the next attempt or the next page.
        await keep().catch(() => {});
        if (parts.have !== have) {
          // Those bytes could not be kept: go on from what is held, and hash it whole at the end.
          have = parts.have;
          hash = have === 0 ? sha256.create() : null;
        }
        if (options.signal?.aborted || !retryable(error) || attempt + 1 >= MAX_ATTEMPTS) throw error;
        await backoff(attempt, error);
      }
    }
    const blob = await parts.assembled();
    const digest = hash ? hex(hash.digest()) : await hashBlob(blob, options.signal ? { signal: options.signal } : {});
    if (blob.size !== card.size || digest !== card.sha256) {
      throw new ParleyClientError('FILE_HASH_MISMATCH', 'The downloaded bytes do not match the offered SHA-256; nothing was saved.');
    }
    await files.decide(card.id, 'delivered').then(options.onDelivered, () => {});
    return blob;
  } catch (error) {
    // Bytes that can never become this file are dropped; after a network failure or a stop they
    // stay, so the download can resume later.
    if (!options.signal?.aborted && !retryable(error)) await parts.clear().catch(() => {});
    throw error;
  }
}

/** Offers the verified bytes to the user as a download named after the file (made safe). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = safeFileName(name);
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function hex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}
