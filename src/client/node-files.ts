/**
 * Moving file bytes from Node (the CLI, tests, bench): hash a file while streaming it, upload
 * it resumably, download it resumably while hashing. Memory stays bounded by the stream
 * buffers (about 1 MiB) whatever the file size.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { TUS_VERSION, UPLOAD_CONTENT_TYPE, fileUrls, type FileCard } from '../protocol/files.ts';
import { safeFileName } from '../protocol/file-names.ts';
import { ParleyClientError } from './errors.ts';
import { scavenger } from '../lib/node-memory.ts';
import { SpeedMeter, backoff, errorOf, retryable, type FileApi, type TransferProgress } from './files.ts';

const CHUNK = 256 * 1024;
const MAX_ATTEMPTS = 8;

export interface TransferOptions {
  onProgress?: (progress: TransferProgress) => void;
  signal?: AbortSignal;
}

/** SHA-256 (hex) and size of a file, read once in 1 MiB chunks. */
export async function hashFile(path: string, onProgress?: (done: number) => void): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const scavenge = scavenger();
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
    hash.update(chunk as Buffer);
    scavenge((chunk as Buffer).length);
    size += (chunk as Buffer).length;
    onProgress?.(size);
  }
  return { sha256: hash.digest('hex'), size };
}

export interface UploadResult {
  file: FileCard;
  /** Where this run started: bytes the server already held. */
  resumedAt: number;
  /** Bytes this run handed to the network. */
  sent: number;
}

/**
 * Uploads an accepted file from `path`: asks the server how much it holds (HEAD), then streams
 * the rest (PATCH), and after a network error or a server restart asks again and goes on from
 * there. Resolves with the card once the server has verified size and SHA-256.
 */
export async function uploadFile(files: FileApi, card: FileCard, path: string, options: TransferOptions = {}): Promise<UploadResult> {
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
      if (offset >= card.size) return { file: await files.get(card.id), resumedAt, sent };
      let done = offset;
      const scavenge = scavenger();
      const counted = createReadStream(path, { start: offset, highWaterMark: CHUNK }).pipe(
        new Transform({
          transform(chunk: Buffer, _encoding, next) {
            sent += chunk.length;
            done += chunk.length;
            scavenge(chunk.length);
            options.onProgress?.({ done, total: card.size, thisRun: sent, bytesPerSecond: meter.sample(sent) });
            next(null, chunk);
          },
        }),
      );
      const response = await request(files, 'PATCH', fileUrls.upload(card.id), {
        headers: {
          'content-type': UPLOAD_CONTENT_TYPE,
          'tus-resumable': TUS_VERSION,
          'upload-offset': String(offset),
          'content-length': String(card.size - offset),
        },
        body: counted,
        signal: options.signal,
      });
      response.resume();
      if (Number(response.headers['upload-offset']) >= card.size) return { file: await files.get(card.id), resumedAt, sent };
    } catch (error) {
      if (options.signal?.aborted || !retryable(error) || attempt + 1 >= MAX_ATTEMPTS) throw error;
      await backoff(attempt, error);
    }
  }
}

export interface DownloadResult {
  path: string;
  /** Bytes already on disk from an earlier, interrupted run. */
  resumedAt: number;
  received: number;
}

/**
 * Downloads a completed file into `dir` under a safe version of its name (never overwriting:
 * `name (1).ext`), resuming a partial `.<id>.part` left by an earlier run, and verifies size and
 * SHA-256 before the file gets its name. A mismatch deletes the bytes and fails with
 * FILE_HASH_MISMATCH. Confirms delivery to the server at the end.
 */
export async function downloadFile(files: FileApi, card: FileCard, dir: string, options: TransferOptions = {}): Promise<DownloadResult> {
  const part = join(dir, `.${card.id}.part`);
  let resumedAt: number | null = null;
  let received = 0;
  const meter = new SpeedMeter();
  for (let attempt = 0; ; attempt++) {
    try {
      let have = await sizeOf(part);
      resumedAt ??= have;
      // Node cannot resume a hash, so what an earlier run left is hashed again.
      let hash = createHash('sha256');
      const scavenge = scavenger();
      if (have > 0) {
        for await (const chunk of createReadStream(part, { highWaterMark: CHUNK })) {
          hash.update(chunk as Buffer);
          scavenge((chunk as Buffer).length);
        }
      }
      if (have < card.size) {
        const response = await request(files, 'GET', fileUrls.content(card.id), {
          headers: have > 0 ? { range: `bytes=${have}-`, 'if-range': `"${card.sha256}"` } : {},
          signal: options.signal,
        });
        if (response.statusCode !== 206 && have > 0) {
          // The server sent the whole file (it ignored the range): start over.
          have = 0;
          hash = createHash('sha256');
        }
        const out = createWriteStream(part, { flags: have > 0 ? 'a' : 'w', highWaterMark: CHUNK });
        let writeError: Error | null = null;
        out.on('error', (error) => (writeError ??= error));
        try {
          for await (const chunk of response as AsyncIterable<Buffer>) {
            if (have + chunk.length > card.size) throw new ParleyClientError('FILE_HASH_MISMATCH', 'The server sent more bytes than the offer said.');
            hash.update(chunk);
            have += chunk.length;
            received += chunk.length;
            scavenge(chunk.length);
            if (!out.write(chunk)) await once(out, 'drain');
            if (writeError) throw writeError;
            options.onProgress?.({ done: have, total: card.size, thisRun: received, bytesPerSecond: meter.sample(received) });
          }
        } finally {
          out.end();
          await finished(out).catch(() => {});
        }
        if (writeError) throw writeError;
      }
      // An empty file has no bytes to fetch, so nothing above created the part file it is named from.
      if (card.size === 0) await writeFile(part, '', { flag: 'a' });
      if (have !== card.size || hash.digest('hex') !== card.sha256) {
        await rm(part, { force: true });
        throw new ParleyClientError('FILE_HASH_MISMATCH', `The downloaded bytes do not match the offered size and SHA-256 of "${card.name}"; they were deleted.`);
      }
      const path = await claimName(dir, safeFileName(card.name), part);
      await files.decide(card.id, 'delivered').catch(() => {});
      return { path, resumedAt, received };
    } catch (error) {
      if (options.signal?.aborted || !retryable(error) || attempt + 1 >= MAX_ATTEMPTS) throw error;
      await backoff(attempt, error);
    }
  }
}

/**
 * One request with node:http(s), which streams a request body at the pace of the socket: Node
 * 20's fetch reads a streamed body ahead without bound (hundreds of MB for a large file) and
 * costs more per byte. Resolves with a 2xx response; anything else becomes a ParleyClientError.
 */
function request(
  files: FileApi,
  method: string,
  path: string,
  options: { headers: Record<string, string>; body?: Readable; signal?: AbortSignal | undefined },
): Promise<IncomingMessage> {
  const url = new URL(path, files.api.baseUrl);
  const headers = { ...options.headers, ...(files.api.token ? { authorization: `Bearer ${files.api.token}` } : {}) };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, headers, ...(options.signal ? { signal: options.signal } : {}) }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return resolve(response);
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        void errorOf(new Response(text === '' ? null : text, { status })).then(reject);
      });
      response.on('error', (error) => reject(networkError(files, error)));
    });
    req.on('error', (error) => reject(networkError(files, error)));
    // The server may answer (and close) before the whole body is sent: the answer counts.
    if (options.body) {
      options.body.on('error', (error) => req.destroy(error));
      options.body.pipe(req);
    } else req.end();
  });
}

function networkError(files: FileApi, error: Error): ParleyClientError {
  if (error instanceof ParleyClientError) return error;
  return new ParleyClientError('NETWORK', `Transfer to ${files.api.baseUrl} failed: ${error.message}`);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Gives the finished part file a free name, `name`, `name (1)`, …: a hard link fails rather than overwrite. */
async function claimName(dir: string, name: string, part: string): Promise<string> {
  const dot = name.lastIndexOf('.');
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 0; ; n++) {
    const candidate = join(dir, n === 0 ? name : `${stem} (${n})${extension}`);
    try {
      await link(part, candidate);
      await unlink(part);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
