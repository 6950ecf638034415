import { randomUUID, type Hash } from 'node:crypto';
import { systemClock, type Clock } from '../clock.ts';
import { ParleyError } from '../errors.ts';
import type { UploadLeases } from './upload-leases.ts';

/** What the file domain needs to know of running uploads (files.ts): it never sees the state itself. */
export interface UploadGuard {
  /** An upload request of this file is running, on any node: the expiry sweep leaves the transfer alone. */
  isRunning(id: string): Promise<boolean>;
  /** The transfer is over (cancelled, failed, expired, deleted): stop its running request and free its kept hash. */
  end(id: string): Promise<void>;
}

/** One upload request holding the file's lock, from `begin` to `finish`. */
export interface UploadSession {
  /** Aborted by a cancel (no reason), a newer request of the same upload or a shutdown (reason: a ParleyError). */
  readonly signal: AbortSignal;
  /** Releases the lock; every request ends with it, whatever happened. */
  finish(): Promise<void>;
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
}

/**
 * How long a newer request waits for the running one to stop and finish what it does after its
 * last byte: writing and fsyncing what arrived and recording the offset. Well under a second
 * usually, seconds on a loaded disk; a disk stuck longer gets 423.
 */
const TAKE_OVER_WAIT_MS = 30_000;
/** How often a request renews its lease (and so how soon it hears that a newer request on another node wants it). */
const RENEW_EVERY_MS = 500;
/** How often a newer request asks for a lease held elsewhere. */
const LEASE_POLL_MS = 100;

/** The reason a running request stops when a newer request of the same upload arrives. */
export function takenOver(): ParleyError {
  return new ParleyError('UPLOAD_INTERRUPTED', 'A newer request of this upload took over; what arrived is kept.');
}

/**
 * The state of resumable uploads between and during their requests, owned by Transfers: which
 * file has a request running (one at a time), and the running SHA-256 kept for the next request.
 *
 * Only the sender reaches an upload, so a newer request (HEAD or PATCH) of the same file means
 * the sender has moved on: its earlier request is a connection that dropped — which the server
 * may not have seen yet, as it notices a closed connection only after reading the bytes still in
 * flight — or one it gave up on. The newer request therefore takes over, as tusd does: the
 * running request stops reading, keeps and records what arrived, and lets go; the newer one then
 * sees the final offset. A resume succeeds on its first try, never told 423 UPLOAD_IN_PROGRESS
 * by the ghost of its own cut request.
 */
export class UploadSessions implements UploadGuard {
  private readonly running = new Map<string, Running>();
  private readonly hashes = new Map<string, { hash: Hash; offset: number }>();
  /** This node, in the holder of its leases. */
  private readonly node = randomUUID();
  private requests = 0;

  /**
   * With `leases` (a cluster), a request also holds the upload's lease in the database for as long
   * as it runs, so that one request at a time appends across every node, and a newer one on another
   * node takes over as it does on this one. See docs/ARCHITECTURE.md, "Files across nodes".
   * `clock` times the wait for a running request to let go (tests move it by hand).
   */
  constructor(
    private readonly leases: UploadLeases | null = null,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Takes the lock of file `id`, stopping a running request of it first. */
  async begin(id: string): Promise<UploadSession> {
    await this.takeOverHere(id);
    const holder = await this.lease(id);
    let release!: () => void;
    const running: Running = { abort: new AbortController(), done: new Promise((resolve) => (release = resolve)) };
    this.running.set(id, running);
    const stopRenewing = holder ? this.renewing(id, holder, running.abort) : () => {};
    return {
      signal: running.abort.signal,
      finish: async () => {
        stopRenewing();
        // A lease not released (the database away) expires by itself.
        if (holder) await this.leases?.release(id, holder).catch(() => {});
        if (this.running.get(id) === running) this.running.delete(id);
        release();
      },
    };
  }

  /** Stops a running request of `id`, on any node, and waits until it has let go, so the bytes held are final (HEAD). */
  async takeOver(id: string): Promise<void> {
    await this.takeOverHere(id);
    const holder = await this.lease(id);
    if (holder) await this.leases?.release(id, holder);
  }

  private async takeOverHere(id: string): Promise<void> {
    for (;;) {
      const current = this.running.get(id);
      if (!current) return;
      current.abort.abort(takenOver());
      if (!(await settlesWithin(current.done, TAKE_OVER_WAIT_MS, this.clock))) throw new ParleyError('UPLOAD_IN_PROGRESS');
    }
  }

  /** Waits for the lease of `id` (its holder elsewhere asked to let go), then holds it; null without leases. */
  private async lease(id: string): Promise<string | null> {
    if (!this.leases) return null;
    const holder = `${this.node}/${++this.requests}`;
    const deadline = Date.now() + TAKE_OVER_WAIT_MS;
    while (!(await this.leases.take(id, holder))) {
      if (Date.now() > deadline) throw new ParleyError('UPLOAD_IN_PROGRESS');
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
    }
    return holder;
  }

  /** Renews the lease while the request runs, and stops the request when the lease says so. */
  private renewing(id: string, holder: string, abort: AbortController): () => void {
    let renewing = false;
    const timer = setInterval(() => {
      if (renewing) return;
      renewing = true;
      this.leases!.renew(id, holder)
        .then((state) => {
          if (state === 'wanted' || state === 'taken') abort.abort(takenOver());
          else if (state === 'ended') abort.abort();
        })
        // The database away: the lease may lapse meanwhile; the blob's checked appends keep the bytes whole.
        .catch(() => {})
        .finally(() => (renewing = false));
    }, RENEW_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  async isRunning(id: string): Promise<boolean> {
    return this.running.has(id) || ((await this.leases?.isHeld(id)) ?? false);
  }

  async end(id: string): Promise<void> {
    this.running.get(id)?.abort.abort();
    this.hashes.delete(id);
    await this.leases?.end(id);
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

function settlesWithin(done: Promise<void>, ms: number, clock: Clock): Promise<boolean> {
  let cancel = () => {};
  const timeout = new Promise<boolean>((resolve) => (cancel = clock.after(ms, () => resolve(false))));
  return Promise.race([done.then(() => true), timeout]).finally(() => cancel());
}
