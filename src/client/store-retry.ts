import type { AckReply } from '../protocol/http.ts';
import type { ParleyApi } from './api.ts';
import { ParleyClientError } from './errors.ts';

/** The wait when a STORE_UNAVAILABLE answer carries no `retryAfterMs` (the server sends 1000: docs/PROTOCOL.md). */
export const STORE_RETRY_DEFAULT_MS = 1_000;
/** The longest wait between two tries while the database stays away: long outages are retried at this pace. */
export const STORE_RETRY_MAX_MS = 15_000;

/**
 * How long to wait before try `attempt + 1` (0 = the first retry) of a send the server could not
 * store. Never sooner than the server asked; doubling while the database stays away, up to
 * STORE_RETRY_MAX_MS. The wait is drawn between half the bound and the bound ("equal jitter"),
 * so the clients of a whole cluster do not all come back in the same instant.
 */
export function storeRetryDelay(retryAfterMs: number | undefined, attempt: number, random: () => number = Math.random): number {
  // A server's hint is taken within reason: a missing, negative or absurd one (not a number, or
  // past the cap) would make the client hammer the server or stall for good.
  const hint = Number.isFinite(retryAfterMs) && retryAfterMs! >= 0 ? Math.min(STORE_RETRY_MAX_MS, retryAfterMs!) : STORE_RETRY_DEFAULT_MS;
  const bound = Math.min(STORE_RETRY_MAX_MS, hint * 2 ** attempt);
  return Math.max(hint, Math.round(bound / 2 + (random() * bound) / 2));
}

export interface StoreWaitHooks {
  /** The database is away: nothing was stored, the next try is in `retryInMs`. Called before each wait. */
  delayed?(retryInMs: number): void;
  /** A try after a delay got through (called once, before the result is returned). */
  flowing?(): void;
  random?: () => number;
  /** Stops waiting: the wait in progress ends at once and the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until the server's database takes it: a STORE_UNAVAILABLE answer (nothing was
 * stored, nothing was read) is tried again after `storeRetryDelay`, for as long as it takes; any
 * other error is thrown as it came. Only for requests that are safe to repeat: reads, and writes
 * the server stores once whatever the number of tries (a client id, a read position, a login).
 */
export async function untilStored<T>(attempt: () => Promise<T>, hooks: StoreWaitHooks = {}): Promise<T> {
  for (let tries = 0; ; tries++) {
    hooks.signal?.throwIfAborted();
    try {
      const result = await attempt();
      if (tries > 0) hooks.flowing?.();
      return result;
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      const wait = storeRetryDelay(error.retryAfterMs, tries, hooks.random);
      hooks.delayed?.(wait);
      await pause(wait, hooks.signal);
    }
  }
}

/** The server could not reach its database: nothing was stored, the same request may go again. */
export function isStoreUnavailable(error: unknown): error is ParleyClientError {
  return error instanceof ParleyClientError && error.code === 'STORE_UNAVAILABLE';
}

/**
 * Sends one message over HTTP and waits until it is stored: a STORE_UNAVAILABLE answer is tried
 * again with the same client id (so it is stored once, whichever try reached the database) after
 * `storeRetryDelay`, for as long as it takes; any other error is thrown as it came.
 */
export function sendUntilStored(api: ParleyApi, conv: string, text: string, clientId: string, hooks: StoreWaitHooks = {}): Promise<AckReply> {
  return untilStored(() => api.send(conv, text, clientId), hooks);
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}
