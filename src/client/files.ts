// Values from zod-free protocol modules only, so the browser bundle carries no schemas.
import type { ErrorCode } from '../protocol/errors.ts';
import type { ErrorReply } from '../protocol/http.ts';
import { TUS_VERSION, fileUrls, type FileCard, type FileOfferReply, type FilesReply } from '../protocol/files.ts';
import type { ParleyApi } from './api.ts';
import { ParleyClientError } from './errors.ts';

export interface FileOffer {
  conv: string;
  clientId: string;
  name: string;
  size: number;
  type?: string;
  sha256: string;
}

/** How far a transfer is: `done` of `total` bytes; `thisRun` counts only bytes moved by this attempt's process. */
export interface TransferProgress {
  done: number;
  total: number;
  thisRun: number;
  /** Bytes per second over the last few seconds. */
  bytesPerSecond: number;
}

/** The JSON half of the file API (docs/PROTOCOL.md, "Files"); the bytes move in node-files.ts and browser-files.ts. */
export class FileApi {
  constructor(readonly api: ParleyApi) {}

  offer(offer: FileOffer): Promise<FileOfferReply> {
    return this.api.json('POST', fileUrls.collection, offer);
  }

  async get(id: string): Promise<FileCard> {
    return (await this.api.json<{ file: FileCard }>('GET', fileUrls.card(id))).file;
  }

  /** Your files in open states (offered, accepted), or all, newest first. */
  async list(options: { conv?: string; state?: 'open' | 'all' } = {}): Promise<FileCard[]> {
    const query = new URLSearchParams(options as Record<string, string>);
    const suffix = query.size > 0 ? `?${query}` : '';
    return (await this.api.json<FilesReply>('GET', `${fileUrls.collection}${suffix}`)).files;
  }

  async decide(id: string, action: 'accept' | 'decline' | 'cancel' | 'delivered'): Promise<FileCard> {
    return (await this.api.json<{ file: FileCard }>('POST', fileUrls.decision(id, action))).file;
  }

  /** How many bytes of the upload the server holds (tus HEAD). */
  async uploadOffset(id: string): Promise<number> {
    const response = await this.send(fileUrls.upload(id), { method: 'HEAD', headers: { 'tus-resumable': TUS_VERSION } });
    if (!response.ok) throw await errorOf(response);
    // Read to its (empty) end: a reply left unread is reported by Chromium as an aborted request.
    await response.arrayBuffer();
    return Number(response.headers.get('upload-offset'));
  }

  /** A fetch that turns a network failure into ParleyClientError('NETWORK'). */
  async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.api.raw(path, init);
    } catch (error) {
      if (error instanceof ParleyClientError) throw error;
      const reason = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
      throw new ParleyClientError('NETWORK', `Transfer to ${this.api.baseUrl} failed: ${reason}`);
    }
  }
}

/** What a reply without a body (HEAD) means. */
const BODILESS: Record<number, ErrorCode> = {
  401: 'UNAUTHENTICATED',
  404: 'NOT_FOUND',
  409: 'FILE_STATE',
  410: 'FILE_GONE',
  423: 'UPLOAD_IN_PROGRESS',
  503: 'SHUTTING_DOWN',
  507: 'STORAGE_FULL',
};

/** The server's error reply as a ParleyClientError. */
export async function errorOf(response: Response): Promise<ParleyClientError> {
  const payload = (await response.json().catch(() => null)) as ErrorReply | null;
  return new ParleyClientError(
    (payload?.error.code as ErrorCode | undefined) ?? BODILESS[response.status] ?? 'INTERNAL',
    payload?.error.message ?? `HTTP ${response.status}`,
    response.status,
    payload?.error.retryAfterMs,
  );
}

/** Worth another attempt (after a pause): the network, a busy lock, a restart, an offset race. */
export function retryable(error: unknown): boolean {
  if (!(error instanceof ParleyClientError)) return false;
  if (error.code === 'NETWORK' || error.code === 'UPLOAD_INTERRUPTED' || error.code === 'UPLOAD_IN_PROGRESS') return true;
  if (error.code === 'UPLOAD_OFFSET_MISMATCH' || error.code === 'SHUTTING_DOWN' || error.code === 'INTERNAL') return true;
  return error.status !== undefined && error.status >= 500 && error.code !== 'STORAGE_FULL';
}

/** Measures speed over a sliding window, for "12.4 MB/s, 1 min left". */
export class SpeedMeter {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 3000) {}

  sample(bytes: number, at = Date.now()): number {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const elapsed = (at - first.at) / 1000;
    return elapsed > 0 ? (bytes - first.bytes) / elapsed : 0;
  }
}

/** Retry pauses: 0.5 s doubling to 10 s, or longer when the server said how long (Retry-After). */
export function backoff(attempt: number, error?: unknown): Promise<void> {
  const asked = error instanceof ParleyClientError ? (error.retryAfterMs ?? 0) : 0;
  return new Promise((resolve) => setTimeout(resolve, Math.max(asked, Math.min(10_000, 500 * 2 ** attempt))));
}
