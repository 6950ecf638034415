import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ParleyError } from '../errors.ts';

/** What the file domain needs to know of running uploads (files.ts): it never sees the state itself. */
export interface UploadGuard {
  /** An upload request of this file is running: the expiry sweep leaves the transfer alone. */
  isRunning(id: string): boolean;
  /** The transfer is over (cancelled, failed, expired, deleted): stop its running request and free its kept hash. */
  end(id: string): void;
}

/** One upload request holding the file's lock, from `begin` to `finish`. */
export interface UploadSession {
  /** Aborted by a cancel (no reason) or a shutdown (reason SHUTTING_DOWN). */
  readonly signal: AbortSignal;
  /** Releases the lock; every request ends with it, whatever happened. */
  finish(): void;
}

interface Running {
  abort: AbortController;
  /** The sender's connection closed before the body ended: nobody is waiting for this request any more. */
  cut: boolean;
  done: Promise<void>;
  release: () => void;
}

/**
 * How long a new request waits for a cut one to finish what it does after its sender has gone:
 * writing and fsyncing the bytes that arrived and recording the offset, so that HEAD and the
 * next PATCH see the final offset. Seconds on a loaded disk; a disk stuck longer gets 423.
 */
const CUT_WIND_DOWN_WAIT_MS = 30_000;

/**
 * The state of resumable uploads between and during their requests, owned by Transfers: which
 * file has a request running (one at a time), and the running SHA-256 kept for the next request.
 *
 * A request whose sender's connection closed mid-body ("cut") still holds the lock while it
 * makes durable what arrived; the sender's resume (HEAD, then PATCH) waits for that instead of
 * being told 423 UPLOAD_IN_PROGRESS, which is kept for a second live request.
 */
export class UploadSessions implements UploadGuard {
  private readonly running = new Map<string, Running>();
  private readonly hashes = new Map<string, { hash: Hash; offset: number }>();

  /** Takes the lock of file `id` for a request reading `body`. */
  async begin(id: string, body: Readable): Promise<UploadSession> {
    for (;;) {
      const current = this.running.get(id);
      if (!current) break;
      if (!current.cut || !(await settlesWithin(current.done, CUT_WIND_DOWN_WAIT_MS))) throw new ParleyError('UPLOAD_IN_PROGRESS');
    }
    let release!: () => void;
    const running: Running = { abort: new AbortController(), cut: false, done: new Promise((resolve) => (release = resolve)), release };
    this.running.set(id, running);
    // 'close' before the end of the body: the connection went away (the request is told nothing more).
    const onClose = () => (running.cut ||= !body.readableEnded);
    body.once('close', onClose);
    if (body.destroyed) onClose();
    return {
      signal: running.abort.signal,
      finish: () => {
        body.off('close', onClose);
        if (this.running.get(id) === running) this.running.delete(id);
        running.release();
      },
    };
  }

  /** Resolves once a cut request of `id` has finished, so that the bytes on disk are final (HEAD). */
  async settled(id: string): Promise<void> {
    const current = this.running.get(id);
    if (current?.cut) await settlesWithin(current.done, CUT_WIND_DOWN_WAIT_MS);
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  end(id: string): void {
    this.running.get(id)?.abort.abort();
    this.hashes.delete(id);
  }

  /** Shutdown: stops every running request with `reason`, then waits (bounded) for them to finish. */
  async abortAll(reason: ParleyError, waitMs: number): Promise<void> {
    for (const running of this.running.values()) running.abort.abort(reason);
    const deadline = Date.now() + waitMs;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** The running hash kept for `id`, if it covers exactly `offset` bytes; either way it is no longer kept. */
  takeHash(id: string, offset: number): Hash | null {
    const kept = this.hashes.get(id);
    this.hashes.delete(id);
    return kept && kept.offset === offset ? kept.hash : null;
  }

  keepHash(id: string, hash: Hash, offset: number): void {
    this.hashes.set(id, { hash, offset });
  }

  dropHash(id: string): void {
    this.hashes.delete(id);
  }

  /** How many interrupted uploads have a hash kept in memory (for tests and metrics). */
  get keptHashes(): number {
    return this.hashes.size;
  }
}

function settlesWithin(done: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([done.then(() => true), timeout]).finally(() => clearTimeout(timer));
}
