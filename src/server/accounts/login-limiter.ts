/**
 * Counts failed logins per key (an account, an address) in a fixed window. Once a key has
 * used its allowance, further attempts are refused before any password is hashed, with the
 * time left until the window ends. (Registrations per address are counted the same way, each
 * account created being one "failure" of the allowance.)
 */
export class FailureLimiter {
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

  recordFailure(key: string): void {
    const now = this.now();
    const window = this.windows.get(key);
    if (!window || window.resetsAt <= now) {
      if (this.windows.size > 100_000) this.sweep(now);
      this.windows.set(key, { failures: 1, resetsAt: now + this.windowMs });
    } else {
      window.failures += 1;
    }
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
