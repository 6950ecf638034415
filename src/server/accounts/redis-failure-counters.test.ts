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

  /** A failed attempt as the accounts make it: reserved, then never `succeeded`. */
  async function fail(node: CountingLoginThrottle, attempt: LoginAttempt = guess): Promise<void> {
    expect((await node.reserve(attempt)).retryAfterMs).toBe(0);
  }

  it('holds an account and address after five failures spread over two nodes, on both, for the rest of the window', async () => {
    const [a, b] = await nodes('login1:');
    for (const node of [a, b, a, b, a]) await fail(node);
    for (const node of [a, b]) {
      const wait = (await node.reserve(guess)).retryAfterMs;
      expect(wait).toBeGreaterThan(14 * 60_000);
      expect(wait).toBeLessThanOrEqual(15 * 60_000);
    }
    // The same account from another address is not held by these (its own pair, and the account-wide limit is 50).
    expect((await b.reserve({ ...guess, address: '198.51.100.7' })).retryAfterMs).toBe(0);
  });

  it('lets exactly five of forty attempts made at once through two nodes go ahead', async () => {
    const [a, b] = await nodes('login4:');
    const reservations = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).reserve(guess)));
    expect(reservations.filter((reservation) => reservation.retryAfterMs === 0)).toHaveLength(5);
    // The refused ones gave back what the account and address limits took for them: 5 counted, not 40.
    for (let i = 0; i < 44; i++) await fail(a, { ...guess, address: `198.51.100.${i}` });
    await fail(b, { ...guess, address: '192.0.2.1' }); // the account's 50th
    expect((await b.reserve({ ...guess, address: '192.0.2.2' })).retryAfterMs).toBeGreaterThan(0);
  });

  it('clears the pair on every node when the owner logs in on one', async () => {
    const [a, b] = await nodes('login2:');
    for (const node of [a, b, a, b]) await fail(node);
    await (await b.reserve(guess)).succeeded();
    for (const node of [a, b, a, b, a]) await fail(node);
    expect((await b.reserve(guess)).retryAfterMs).toBeGreaterThan(0);
  });

  it('counts registrations and other keys by name, each in its own space', async () => {
    const [client] = await Promise.all([connectRedis(redis().url, 'c', quiet)]);
    cleanups.push(() => client.disconnect());
    const counters = redisCounters(client, 'login3:');
    const registrations = counters('registration', { failures: 2, windowMs: 3_600_000 });
    const addresses = counters('address', { failures: 2, windowMs: 3_600_000 });
    expect(await registrations.reserve('203.0.113.9')).toBe(0);
    expect(await registrations.reserve('203.0.113.9')).toBe(0);
    expect(await registrations.retryAfterMs('203.0.113.9')).toBeGreaterThan(0);
    expect(await registrations.reserve('203.0.113.9')).toBeGreaterThan(0);
    await registrations.release('203.0.113.9');
    expect(await registrations.retryAfterMs('203.0.113.9')).toBe(0);
    expect(await addresses.retryAfterMs('203.0.113.9')).toBe(0);
  });
});
