import { afterEach, describe, expect, it } from 'vitest';
import { hasRedis, privateRedis } from '../../../test/support/redis.ts';
import { connectRedis } from '../redis/connect.ts';
import { CountingLoginThrottle, DEFAULT_THROTTLE_LIMITS, type LoginAttempt } from './login-throttle.ts';
import { redisCounters } from './redis-failure-counters.ts';

const quiet = { warn: () => {}, info: () => {} };

describe.skipIf(!hasRedis)('failed logins counted across nodes (redisCounters)', () => {
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** Two nodes' throttles, each on its own Redis connection. */
  async function nodes(prefix: string) {
    const clients = await Promise.all([connectRedis(redis().url, 'a', quiet), connectRedis(redis().url, 'b', quiet)]);
    cleanups.push(...clients.map((client) => () => client.disconnect()));
    return clients.map((client) => new CountingLoginThrottle(DEFAULT_THROTTLE_LIMITS, redisCounters(client, prefix))) as [CountingLoginThrottle, CountingLoginThrottle];
  }

  const guess: LoginAttempt = { account: 'alice', address: '203.0.113.9', device: null };

  it('holds an account and address after five failures spread over two nodes, on both, for the rest of the window', async () => {
    const [a, b] = await nodes('login1:');
    for (const node of [a, b, a, b, a]) {
      expect(await node.retryAfterMs(guess)).toBe(0);
      await node.recordFailure(guess);
    }
    for (const node of [a, b]) {
      const wait = await node.retryAfterMs(guess);
      expect(wait).toBeGreaterThan(14 * 60_000);
      expect(wait).toBeLessThanOrEqual(15 * 60_000);
    }
    // The same account from another address is not held by these (its own pair, and the account-wide limit is 50).
    expect(await b.retryAfterMs({ ...guess, address: '198.51.100.7' })).toBe(0);
  });

  it('clears the pair on every node when the owner logs in on one', async () => {
    const [a, b] = await nodes('login2:');
    for (const node of [a, b, a, b]) await node.recordFailure(guess);
    await b.recordSuccess(guess);
    for (const node of [a, b, a, b]) await node.recordFailure(guess);
    expect(await a.retryAfterMs(guess)).toBe(0);
    await b.recordFailure(guess);
    expect(await a.retryAfterMs(guess)).toBeGreaterThan(0);
  });

  it('counts registrations and other keys by name, each in its own space', async () => {
    const [client] = await Promise.all([connectRedis(redis().url, 'c', quiet)]);
    cleanups.push(() => client.disconnect());
    const counters = redisCounters(client, 'login3:');
    const registrations = counters('registration', { failures: 2, windowMs: 3_600_000 });
    const addresses = counters('address', { failures: 2, windowMs: 3_600_000 });
    await registrations.recordFailure('203.0.113.9');
    await registrations.recordFailure('203.0.113.9');
    expect(await registrations.retryAfterMs('203.0.113.9')).toBeGreaterThan(0);
    expect(await addresses.retryAfterMs('203.0.113.9')).toBe(0);
  });
});
