import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
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

  async recordFailure(key: string): Promise<void> {
    await this.limiter.penalty(key, 1);
  }

  async reset(key: string): Promise<void> {
    await this.limiter.delete(key);
  }
}
