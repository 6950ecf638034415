import { memoryCounters, type FailureCounter, type FailureCounters } from './login-limiter.ts';

/** One login attempt as the throttle sees it. */
export interface LoginAttempt {
  /** The account's name key (the account need not exist: guessing names is limited too). */
  account: string;
  /** The client's address as the limits count it (X-Forwarded-For only from trusted proxies; an IPv6 client by its /64: address-key.ts). */
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
  /**
   * Counts the attempt as a failure before any password is hashed, or refuses it. Counted first,
   * so that a hundred attempts sent at once cannot all pass a check made while none of them has
   * failed yet; a failed attempt leaves its count, a successful one calls `succeeded`.
   */
  reserve(attempt: LoginAttempt): Promise<LoginReservation>;
}

/** What `reserve` decided: a wait (nothing counted), or an attempt counted as failed until it `succeeded`. */
export type LoginReservation = { retryAfterMs: number; succeeded(): Promise<void> };

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

  async reserve(attempt: LoginAttempt): Promise<LoginReservation> {
    const { device, account, address } = attempt;
    const pair = pairKey(attempt);
    if (device !== null && (await this.devices.reserve(device)) === 0) {
      // A known device within its own allowance: only its own failures count.
      return { retryAfterMs: 0, succeeded: async () => void (await Promise.all([this.devices.reset(device), this.pairs.reset(pair)])) };
    }
    const held: Array<[FailureCounter, string]> = [[this.pairs, pair], [this.accounts, account], [this.addresses, address]];
    const waits = await Promise.all(held.map(([counter, key]) => counter.reserve(key)));
    const wait = Math.max(...waits);
    if (wait > 0) {
      // Refused: what the other limits took for this attempt is given back (it is never made).
      await Promise.all(held.filter((_, i) => waits[i] === 0).map(([counter, key]) => counter.release(key)));
      return { retryAfterMs: wait, succeeded: async () => {} };
    }
    // A success clears the pair; the account's and the address's counts only lose this attempt
    // (their windows run out on their own).
    return {
      retryAfterMs: 0,
      succeeded: async () => void (await Promise.all([this.pairs.reset(pair), this.accounts.release(account), this.addresses.release(address)])),
    };
  }
}

function pairKey(attempt: LoginAttempt): string {
  return `${attempt.account}\n${attempt.address}`;
}
