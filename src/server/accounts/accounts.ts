import type { Credentials, UserRef } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';
import type { Store } from '../storage/store.ts';
import { FailureLimiter } from './login-limiter.ts';
import { checkName, nameKeyOf } from './names.ts';
import { burnDecoyVerification, checkPassword, hashPassword, verifyPassword } from './passwords.ts';
import { hashToken, newSessionToken } from './tokens.ts';

export interface AccountLimits {
  sessionTtlMs: number;
  /** Failed logins allowed per account, and per address, within the window. */
  failuresPerAccount: number;
  failuresPerAddress: number;
  failureWindowMs: number;
}

export const DEFAULT_ACCOUNT_LIMITS: AccountLimits = {
  sessionTtlMs: 30 * 24 * 3600 * 1000,
  failuresPerAccount: 5,
  failuresPerAddress: 20,
  failureWindowMs: 5 * 60 * 1000,
};

export interface Session {
  user: UserRef;
  token: string;
}

/** Registration, login, logout and turning a session token back into its user. */
export class Accounts {
  private readonly byAccount: FailureLimiter;
  private readonly byAddress: FailureLimiter;

  constructor(
    private readonly store: Store,
    private readonly limits: AccountLimits = DEFAULT_ACCOUNT_LIMITS,
  ) {
    this.byAccount = new FailureLimiter(limits.failuresPerAccount, limits.failureWindowMs);
    this.byAddress = new FailureLimiter(limits.failuresPerAddress, limits.failureWindowMs);
  }

  async register({ name: rawName, password }: Credentials): Promise<Session> {
    const { name, nameKey } = checkName(rawName);
    checkPassword(password);
    // Cheap check first so a taken name does not cost a hash; the unique index still decides.
    if (await this.store.userByNameKey(nameKey)) throw new ParleyError('NAME_TAKEN');
    const passwordHash = await hashPassword(password);
    const user = await this.store.createUser({ name, nameKey, passwordHash, createdAt: Date.now() });
    if (!user) throw new ParleyError('NAME_TAKEN');
    return this.openSession({ id: user.id, name: user.name });
  }

  async login({ name, password }: Credentials, address: string): Promise<Session> {
    const accountKey = nameKeyOf(name);
    const addressKey = `address:${address}`;
    const wait = Math.max(this.byAccount.retryAfterMs(accountKey), this.byAddress.retryAfterMs(addressKey));
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new ParleyError('LOGIN_RATE_LIMITED', `Too many failed logins; try again in ${seconds} s.`, {
        retryAfterMs: wait,
      });
    }
    const user = await this.store.userByNameKey(accountKey);
    const ok = user ? await verifyPassword(user.passwordHash, password) : (await burnDecoyVerification(password), false);
    if (!user || !ok) {
      this.byAccount.recordFailure(accountKey);
      this.byAddress.recordFailure(addressKey);
      throw new ParleyError('WRONG_CREDENTIALS');
    }
    this.byAccount.reset(accountKey);
    return this.openSession({ id: user.id, name: user.name });
  }

  /** The user behind a session token, or null when it is unknown or expired. */
  async authenticate(token: string): Promise<UserRef | null> {
    const tokenHash = hashToken(token);
    const session = await this.store.sessionByTokenHash(tokenHash);
    if (!session) return null;
    if (session.expiresAt <= Date.now()) {
      await this.store.deleteSession(tokenHash);
      return null;
    }
    return this.store.userById(session.userId);
  }

  async logout(token: string): Promise<void> {
    await this.store.deleteSession(hashToken(token));
  }

  private async openSession(user: UserRef): Promise<Session> {
    const token = newSessionToken();
    const now = Date.now();
    await this.store.createSession(hashToken(token), {
      userId: user.id,
      createdAt: now,
      expiresAt: now + this.limits.sessionTtlMs,
    });
    return { user, token };
  }
}
