/**
 * Failures counted per key in a fixed window, wherever the counts are kept: in this process
 * (FailureLimiter) or, with several nodes, in Redis (redis-failure-counters.ts), so that ten nodes
 * do not allow ten times the attempts.
 */
export interface FailureCounter {
  /** Milliseconds until this key may try again, or 0 when it may try now: a look, taking nothing. */
  retryAfterMs(key: string): number | Promise<number>;
  /**
   * Takes one of the key's allowance for an attempt about to be made and returns 0, or, when the
   * allowance is used up, returns the milliseconds until its window ends. Counting before the
   * attempt, in one step, is what keeps parallel attempts from all reading the same count and all
   * going ahead; an attempt that then does not count (a success) is given back with `release`.
   */
  reserve(key: string): number | Promise<number>;
  /** Gives back one reserved attempt (it succeeded, or another limit refused it before it was made). */
  release(key: string): void | Promise<void>;
  reset(key: string): void | Promise<void>;
}

/** Makes the counter named `name` (a kind of key: accounts, addresses…) with its allowance. */
export type FailureCounters = (name: string, limit: { failures: number; windowMs: number }) => FailureCounter;

/** Counters in this process, on the time `now` gives. */
export function memoryCounters(now: () => number = Date.now): FailureCounters {
  return (_name, { failures, windowMs }) => new FailureLimiter(failures, windowMs, now);
}

/**
 * Counts failed logins per key (an account, an address) in a fixed window. Once a key has
 * used its allowance, further attempts are refused before any password is hashed, with the
 * time left until the window ends. (`retryAfterMs` drops a window that has ended, so `reserve`
 * after it starts a new one.) (Registrations per address are counted the same way, each
 * account created being one "failure" of the allowance.)
 */
export class FailureLimiter implements FailureCounter {
  private readonly windows = new Map<string, { failures: number; resetsAt: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until this key may try again, or 0 when it may try now. */
  retryAfterMs(key: string): number {
    const window = this.windows.get(key);
    if (!window) return 0;
    const left = window.resetsAt - this.now();
    if (left <= 0) {
      this.windows.delete(key);
      return 0;
    }
    return window.failures >= this.maxFailures ? left : 0;
  }

  reserve(key: string): number {
    const wait = this.retryAfterMs(key);
    if (wait > 0) return wait;
    const window = this.windows.get(key);
    if (window) {
      window.failures += 1;
    } else {
      const now = this.now();
      if (this.windows.size > 100_000) this.sweep(now);
      this.windows.set(key, { failures: 1, resetsAt: now + this.windowMs });
    }
    return 0;
  }

  release(key: string): void {
    const window = this.windows.get(key);
    if (window && window.failures > 0) window.failures -= 1;
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.resetsAt <= now) this.windows.delete(key);
    }
  }
}
