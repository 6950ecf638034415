import type { Credentials, PasswordChange, UserRef } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';
import type { EventPublisher } from '../events/events.ts';
import type { Store, UserRecord } from '../storage/store.ts';
import type { DeviceTokens } from './device-tokens.ts';
import { addressKey } from './address-key.ts';
import { memoryCounters, type FailureCounter, type FailureCounters } from './login-limiter.ts';
import { CountingLoginThrottle, DEFAULT_THROTTLE_LIMITS, type LoginAttempt, type LoginReservation, type LoginThrottle, type ThrottleLimits } from './login-throttle.ts';
import { checkName, nameKeyOf, skeletonOf } from './names.ts';
import { checkNewPassword } from './password-rules.ts';
import { burnDecoyVerification, hashPassword, verifyPassword } from './passwords.ts';
import { hashToken, newSessionToken } from './tokens.ts';

export interface AccountLimits {
  sessionTtlMs: number;
  /** Failed logins (docs/SECURITY.md, "Failed logins"). */
  throttle: ThrottleLimits;
  /** Accounts created from one address: bounds mass registration, and the hashing it costs. */
  registrationsPerAddress: { count: number; windowMs: number };
}

export const DEFAULT_ACCOUNT_LIMITS: AccountLimits = {
  sessionTtlMs: 30 * 24 * 3600 * 1000,
  throttle: DEFAULT_THROTTLE_LIMITS,
  // A whole class behind one school NAT registers in the same lesson.
  registrationsPerAddress: { count: 50, windowMs: 3_600_000 },
};

export interface Session {
  user: UserRef;
  token: string;
  /** Marks this browser or client as a known device of the account (login-throttle.ts). */
  deviceToken: string;
}

/** Where a login comes from: the client's address and what it already holds. */
export interface LoginContext {
  address: string;
  /** A device token from an earlier login on this client, if it sent one. */
  deviceToken: string | null;
  /** The browser's session cookie, if it holds one: a new login replaces it, so it is ended. */
  sessionToken: string | null;
}

export interface AccountsOptions {
  devices: DeviceTokens;
  /** Where a session's end is published, so that every connection opened with it closes. */
  events: EventPublisher;
  limits?: AccountLimits;
  throttle?: LoginThrottle;
  /** Where failed logins and registrations are counted: this process by default, Redis across nodes. */
  counters?: FailureCounters;
  now?: () => number;
}

/** Registration, login, logout and turning a session token back into its user. */
export class Accounts {
  private readonly devices: DeviceTokens;
  private readonly events: EventPublisher;
  private readonly limits: AccountLimits;
  private readonly throttle: LoginThrottle;
  private readonly now: () => number;
  private readonly registrations: FailureCounter;

  constructor(
    private readonly store: Store,
    options: AccountsOptions,
  ) {
    this.devices = options.devices;
    this.events = options.events;
    this.limits = options.limits ?? DEFAULT_ACCOUNT_LIMITS;
    this.now = options.now ?? Date.now;
    const counters = options.counters ?? memoryCounters(this.now);
    this.throttle = options.throttle ?? new CountingLoginThrottle(this.limits.throttle, counters);
    const { count, windowMs } = this.limits.registrationsPerAddress;
    this.registrations = counters('registration', { failures: count, windowMs });
  }

  async register({ name: rawName, password }: Credentials, address: string): Promise<Session> {
    const { name, nameKey, skeleton } = checkName(rawName);
    await checkNewPassword(password, name);
    // Cheap check first so a taken name does not cost a hash; the store still decides, look-alikes included.
    if (await this.store.userByNameKey(nameKey)) throw new ParleyError('NAME_TAKEN');
    // The machine itself (its owner, a script, a benchmark) is not a stranger mass-registering.
    const counted = !/^(?:::ffff:)?127\.|^::1$/.test(address);
    // Reserved before the hash, given back if no account comes of it: parallel sign-ups from one
    // address cannot all pass a check made before any of them was counted.
    const key = addressKey(address);
    const wait = counted ? await this.registrations.reserve(key) : 0;
    if (wait > 0) {
      throw new ParleyError('RATE_LIMITED', `Too many accounts created from this address; try again in ${Math.ceil(wait / 1000)} s.`, { retryAfterMs: wait });
    }
    let user: UserRecord | null = null;
    try {
      const passwordHash = await hashPassword(password);
      user = await this.store.createUser({ name, nameKey, skeleton, passwordHash, createdAt: this.now() });
    } finally {
      if (counted && !user) await this.registrations.release(key);
    }
    if (!user) throw new ParleyError('NAME_TAKEN');
    return this.openSession({ id: user.id, name: user.name });
  }

  async login({ name, password }: Credentials, context: LoginContext): Promise<Session> {
    const accountKey = nameKeyOf(name);
    const user = await this.findUser(name);
    const attempt: LoginAttempt = { account: accountKey, address: addressKey(context.address), device: user ? await this.knownDevice(user.id, context) : null };
    const reservation = await this.reserveLogin(attempt);
    const ok = user ? await verifyPassword(user.passwordHash, password) : (await burnDecoyVerification(password), false);
    if (!user || !ok) throw new ParleyError('WRONG_CREDENTIALS');
    await reservation.succeeded();
    // A new session for a new login (session fixation): the one the client held ends here.
    if (context.sessionToken) await this.logout(context.sessionToken, 'replaced by a new login');
    return this.openSession({ id: user.id, name: user.name });
  }

  /**
   * Changes the password of the session's user (ASVS V2.1.5, V2.1.6, V3.3.3). The current
   * password is checked under the login throttle, as a login of this account from this client
   * would be, so a stolen session cannot be used to guess it faster than a login could; the new
   * one follows the registration rules. Every other session ends (their connections close with
   * 4001 on every node); the one that asked goes on.
   */
  async changePassword(signedIn: UserRef, change: PasswordChange, context: { token: string; address: string }): Promise<void> {
    const user = await this.store.userByName(signedIn.name);
    if (!user || user.id !== signedIn.id) throw new ParleyError('UNAUTHENTICATED');
    // Refused before any hashing, and before the current password is looked at.
    await checkNewPassword(change.newPassword, user.name);
    const attempt: LoginAttempt = {
      account: user.nameKey,
      address: addressKey(context.address),
      device: await this.knownDevice(user.id, { address: context.address, deviceToken: null, sessionToken: context.token }),
    };
    const reservation = await this.reserveLogin(attempt);
    if (!(await verifyPassword(user.passwordHash, change.currentPassword))) throw new ParleyError('WRONG_CURRENT_PASSWORD');
    await reservation.succeeded();
    const keep = hashToken(context.token);
    if (!(await this.store.changePassword(user.id, await hashPassword(change.newPassword), keep))) throw new ParleyError('UNAUTHENTICATED');
    this.events.publish({ type: 'allSessionsEnded', userId: user.id, reason: 'password changed', except: keep.toString('hex') });
  }

  /** Counts a password check as failed before it is made (it stays counted unless it succeeds), or refuses it. */
  private async reserveLogin(attempt: LoginAttempt): Promise<LoginReservation> {
    const reservation = await this.throttle.reserve(attempt);
    if (reservation.retryAfterMs > 0) {
      const wait = reservation.retryAfterMs;
      throw new ParleyError('LOGIN_RATE_LIMITED', `Too many failed logins; try again in ${Math.ceil(wait / 1000)} s.`, { retryAfterMs: wait });
    }
    return reservation;
  }

  /** A user by name as a person types it: the exact name of an account first, else any name with the same key. */
  async findUser(name: string): Promise<UserRecord | null> {
    return (await this.store.userByName(name.normalize('NFC'))) ?? (await this.store.userByNameKey(nameKeyOf(name)));
  }

  /** Brings accounts made under earlier name rules to the current keys (once, at start). */
  upgradeNameKeys(): Promise<number> {
    return this.store.upgradeNameKeys((name) => ({ nameKey: nameKeyOf(name), skeleton: skeletonOf(name) }));
  }

  /** The device key of a client that logged in to this account before: a device token, or a live session. */
  private async knownDevice(userId: number, context: LoginContext): Promise<string | null> {
    if (context.deviceToken && this.devices.belongsTo(context.deviceToken, userId)) return `device:${context.deviceToken}`;
    if (context.sessionToken && (await this.authenticate(context.sessionToken))?.id === userId) {
      return `session:${hashToken(context.sessionToken).toString('base64url')}`;
    }
    return null;
  }

  /** The user behind a session token, or null when it is unknown or expired. */
  async authenticate(token: string): Promise<UserRef | null> {
    const tokenHash = hashToken(token);
    const session = await this.store.sessionByTokenHash(tokenHash);
    if (!session) return null;
    if (session.expiresAt <= this.now()) {
      await this.store.deleteSession(tokenHash);
      return null;
    }
    return this.store.userById(session.userId);
  }

  /** Of these session keys (sessionKeyOf), those whose session still exists and has not expired. */
  liveSessionKeys(keys: readonly string[]): Promise<Set<string>> {
    return this.store.liveSessionsAmong(
      keys.map((key) => Buffer.from(key, 'hex')),
      this.now(),
    );
  }

  /** Ends the session; every connection opened with it closes (the gateway hears `sessionEnded`). */
  async logout(token: string, reason = 'logged out'): Promise<void> {
    await this.store.deleteSession(hashToken(token));
    this.events.publish({ type: 'sessionEnded', sessionKey: sessionKeyOf(token), reason });
  }

  /** Ends every session of the user, on every device (a lost phone, a shared computer). */
  async logoutEverywhere(userId: number): Promise<void> {
    await this.store.deleteSessionsOf(userId);
    this.events.publish({ type: 'allSessionsEnded', userId, reason: 'logged out everywhere' });
  }

  private async openSession(user: UserRef): Promise<Session> {
    const token = newSessionToken();
    const now = this.now();
    await this.store.createSession(hashToken(token), {
      userId: user.id,
      createdAt: now,
      expiresAt: now + this.limits.sessionTtlMs,
    });
    return { user, token, deviceToken: this.devices.issue(user.id) };
  }
}

/** How connections and events name a session without its token: hex SHA-256 of the token. */
export function sessionKeyOf(token: string): string {
  return hashToken(token).toString('hex');
}
