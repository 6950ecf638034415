import { memoryCounters, type FailureCounter, type FailureCounters } from './login-limiter.ts';

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
 * "Failed logins"). A port: its counts are kept in memory on one node, in Redis across nodes
 * (the FailureCounters it is made with), so every node sees every failure.
 */
export interface LoginThrottle {
  /** Milliseconds before this attempt may be made, or 0: checked before any password is hashed. */
  retryAfterMs(attempt: LoginAttempt): Promise<number>;
  recordFailure(attempt: LoginAttempt): Promise<void>;
  recordSuccess(attempt: LoginAttempt): Promise<void>;
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
export class CountingLoginThrottle implements LoginThrottle {
  private readonly pairs: FailureCounter;
  private readonly accounts: FailureCounter;
  private readonly addresses: FailureCounter;
  private readonly devices: FailureCounter;

  constructor(limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS, counters: FailureCounters = memoryCounters()) {
    this.pairs = counters('pair', limits.perAccountAndAddress);
    this.accounts = counters('account', limits.perAccount);
    this.addresses = counters('address', limits.perAddress);
    this.devices = counters('device', limits.perDevice);
  }

  async retryAfterMs(attempt: LoginAttempt): Promise<number> {
    if (await this.trusted(attempt)) return 0;
    const waits = await Promise.all([
      this.pairs.retryAfterMs(pairKey(attempt)),
      this.accounts.retryAfterMs(attempt.account),
      this.addresses.retryAfterMs(attempt.address),
    ]);
    return Math.max(...waits);
  }

  async recordFailure(attempt: LoginAttempt): Promise<void> {
    if (await this.trusted(attempt)) {
      await this.devices.recordFailure(attempt.device!);
      return;
    }
    await Promise.all([
      this.pairs.recordFailure(pairKey(attempt)),
      this.accounts.recordFailure(attempt.account),
      this.addresses.recordFailure(attempt.address),
    ]);
  }

  async recordSuccess(attempt: LoginAttempt): Promise<void> {
    await Promise.all([this.pairs.reset(pairKey(attempt)), attempt.device ? this.devices.reset(attempt.device) : undefined]);
  }

  private async trusted(attempt: LoginAttempt): Promise<boolean> {
    return attempt.device !== null && (await this.devices.retryAfterMs(attempt.device)) === 0;
  }
}

function pairKey(attempt: LoginAttempt): string {
  return `${attempt.account}\n${attempt.address}`;
}
