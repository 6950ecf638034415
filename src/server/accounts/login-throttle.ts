import { FailureLimiter } from './login-limiter.ts';

/** One login attempt as the throttle sees it. */
export interface LoginAttempt {
  /** The account's name key (the account need not exist: guessing names is limited too). */
  account: string;
  /** The client's address (X-Forwarded-For only from trusted proxies). */
  address: string;
  /** A device this account logged in from before (its device token), or null. */
  device: string | null;
}

/**
 * Slows password guessing down without letting a stranger lock the owner out (docs/SECURITY.md,
 * "Failed logins"). A port: kept in memory on one node; the cluster moves it where every node sees it.
 */
export interface LoginThrottle {
  /** Milliseconds before this attempt may be made, or 0: checked before any password is hashed. */
  retryAfterMs(attempt: LoginAttempt): number;
  recordFailure(attempt: LoginAttempt): void;
  recordSuccess(attempt: LoginAttempt): void;
}

export interface ThrottleLimits {
  /** Failures of one account from one address (an unknown device). */
  perAccountAndAddress: { failures: number; windowMs: number };
  /** Failures of one account from all unknown devices together: slower, so it rarely bites. */
  perAccount: { failures: number; windowMs: number };
  /** Failures from one address across accounts (password spraying). */
  perAddress: { failures: number; windowMs: number };
  /** Failures from one known device, after which it counts as unknown. */
  perDevice: { failures: number; windowMs: number };
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  perAccountAndAddress: { failures: 5, windowMs: 15 * 60_000 },
  perAccount: { failures: 50, windowMs: 60 * 60_000 },
  perAddress: { failures: 50, windowMs: 15 * 60_000 },
  perDevice: { failures: 10, windowMs: 15 * 60_000 },
};

/**
 * OWASP's device-cookie scheme with per-(account, address) counting:
 * - a known device is held only by its own failures, never by what others do to the account
 *   or from its address; past its own limit it is treated as unknown;
 * - an unknown device is held by the (account, address) pair, then by the account as a whole
 *   (a slower limit that a botnet rotating addresses still reaches), then by its address.
 * A success clears the pair (and the device); the account-wide count runs out with its window.
 */
export class MemoryLoginThrottle implements LoginThrottle {
  private readonly pairs: FailureLimiter;
  private readonly accounts: FailureLimiter;
  private readonly addresses: FailureLimiter;
  private readonly devices: FailureLimiter;

  constructor(limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS, now: () => number = Date.now) {
    const limiter = ({ failures, windowMs }: { failures: number; windowMs: number }) => new FailureLimiter(failures, windowMs, now);
    this.pairs = limiter(limits.perAccountAndAddress);
    this.accounts = limiter(limits.perAccount);
    this.addresses = limiter(limits.perAddress);
    this.devices = limiter(limits.perDevice);
  }

  retryAfterMs(attempt: LoginAttempt): number {
    if (this.trusted(attempt)) return 0;
    return Math.max(
      this.pairs.retryAfterMs(pairKey(attempt)),
      this.accounts.retryAfterMs(attempt.account),
      this.addresses.retryAfterMs(attempt.address),
    );
  }

  recordFailure(attempt: LoginAttempt): void {
    if (this.trusted(attempt)) {
      this.devices.recordFailure(attempt.device!);
      return;
    }
    this.pairs.recordFailure(pairKey(attempt));
    this.accounts.recordFailure(attempt.account);
    this.addresses.recordFailure(attempt.address);
  }

  recordSuccess(attempt: LoginAttempt): void {
    this.pairs.reset(pairKey(attempt));
    if (attempt.device) this.devices.reset(attempt.device);
  }

  private trusted(attempt: LoginAttempt): boolean {
    return attempt.device !== null && this.devices.retryAfterMs(attempt.device) === 0;
  }
}

function pairKey(attempt: LoginAttempt): string {
  return `${attempt.account}\n${attempt.address}`;
}
