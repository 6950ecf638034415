import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { FailureCounter, FailureCounters } from './login-limiter.ts';

/**
 * Failed logins (and registrations) counted in Redis, so every node sees every failure and ten
 * nodes allow no more attempts than one. The window starts at a key's first failure and ends
 * `windowMs` later, as in FailureLimiter (the window's time is Redis's own expiry).
 *
 * While Redis is away, each node counts in its own memory instead (rate-limiter-flexible's
 * insurance limiter): the limits hold per node rather than failing every login, or none.
 */
export function redisCounters(redis: Redis, prefix = 'parley:login:'): FailureCounters {
  return (name, { failures, windowMs }) => {
    const options = { points: failures, duration: Math.max(1, Math.ceil(windowMs / 1000)) };
    const limiter = new RateLimiterRedis({
      ...options,
      storeClient: redis,
      keyPrefix: `${prefix}${name}`,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ ...options, keyPrefix: `${prefix}${name}` }),
    });
    return new RedisFailureCounter(limiter, failures);
  };
}

class RedisFailureCounter implements FailureCounter {
  constructor(
    private readonly limiter: RateLimiterRedis,
    private readonly allowed: number,
  ) {}

  async retryAfterMs(key: string): Promise<number> {
    const state = await this.limiter.get(key);
    return state && state.consumedPoints >= this.allowed ? Math.max(1, state.msBeforeNext) : 0;
  }

  async reserve(key: string): Promise<number> {
    try {
      await this.limiter.consume(key, 1);
      return 0;
    } catch (refusal) {
      // consume() rejects with the key's state when the allowance is used up (one INCR: the count
      // and the check are one step in Redis), and with an Error only when neither Redis nor the
      // insurance limiter could count. A refused attempt is never made, so its point is given
      // back: the count stays that of the attempts made, as in memory.
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      await this.limiter.reward(key, 1);
      return Math.max(1, refusal.msBeforeNext);
    }
  }

  async release(key: string): Promise<void> {
    await this.limiter.reward(key, 1);
  }

  async reset(key: string): Promise<void> {
    await this.limiter.delete(key);
  }
}
