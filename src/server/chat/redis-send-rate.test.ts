import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { hasRedis, privateRedis } from '../../../test/support/redis.ts';
import { connectRedis } from '../redis/connect.ts';
import { RedisClockOffset } from '../redis/redis-clock.ts';
import { RedisSendRate } from './redis-send-rate.ts';

const quiet = { warn: () => {}, info: () => {} };
const limits = { perSecond: 2, burst: 5 };

describe.skipIf(!hasRedis)('the send limit shared by every node (RedisSendRate)', () => {
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function nodes(clock: ManualClock, prefix: string) {
    const clients = await Promise.all([connectRedis(redis().url, 'a', quiet), connectRedis(redis().url, 'b', quiet)]);
    cleanups.push(...clients.map((client) => () => client.disconnect()));
    const [a, b] = clients.map((client) => new RedisSendRate(client, limits, clock, quiet, prefix)) as [RedisSendRate, RedisSendRate];
    return { a, b, clients };
  }

  /** The wait RATE_LIMITED gave, or 0 when the send was taken. */
  const attempt = async (node: RedisSendRate, userId: number) => {
    try {
      await node.take(userId);
      return 0;
    } catch (error) {
      expect(error).toMatchObject({ code: 'RATE_LIMITED' });
      return (error as { retryAfterMs: number }).retryAfterMs;
    }
  };

  it('grants one user one burst across two nodes, not one per node, and refills it at one rate', async () => {
    const clock = new ManualClock();
    const { a, b } = await nodes(clock, 'send1:');
    for (const node of [a, a, a, b, b]) expect(await attempt(node, 1)).toBe(0);
    expect(await attempt(a, 1)).toBe(500);
    expect(await attempt(b, 1)).toBe(500);
    // Another user has a budget of their own.
    expect(await attempt(b, 2)).toBe(0);

    await clock.advance(500); // one token, for whichever node asks first
    expect(await attempt(b, 1)).toBe(0);
    expect(await attempt(a, 1)).toBe(500);
  });

  it('refills nobody’s budget early through a node whose clock runs ahead, on Redis’s time', async () => {
    for (const onRedisTime of [false, true]) {
      const clients = await Promise.all([connectRedis(redis().url, 'a', quiet), connectRedis(redis().url, 'b', quiet)]);
      cleanups.push(...clients.map((client) => () => client.disconnect()));
      // B's machine is right; A's is a minute ahead (a VM resumed, no NTP).
      const clocks = [new ManualClock(Date.now() + 60_000), new ManualClock()];
      const offsets = clients.map((client, i) => new RedisClockOffset(client, clocks[i]!, quiet));
      if (onRedisTime) for (const offset of offsets) await offset.start();
      const [a, b] = clients.map((client, i) => new RedisSendRate(client, limits, onRedisTime ? offsets[i]!.corrected() : clocks[i]!, quiet, `skew-${onRedisTime}:`));
      for (let i = 0; i < 5; i++) expect(await attempt(b!, 1)).toBe(0);
      // On A's own clock a minute has passed since B emptied the bucket: it is full again. On Redis's, none has.
      expect(await attempt(a!, 1)).toBe(onRedisTime ? 500 : 0);
    }
  });

  it('falls back to each node’s own budget while Redis is away, and shares again once it is back', async () => {
    const clock = new ManualClock();
    const { a, b, clients } = await nodes(clock, 'send2:');
    await redis().stop();
    try {
      for (let i = 0; i < 5; i++) expect(await attempt(a, 1)).toBe(0);
      expect(await attempt(a, 1)).toBeGreaterThan(0);
      expect(await attempt(b, 1)).toBe(0); // B's own bucket
    } finally {
      await redis().restart();
    }
    const deadline = Date.now() + 5000;
    while (!clients.every((client) => client.status === 'ready')) {
      if (Date.now() > deadline) throw new Error('the nodes did not reach Redis again');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const node of [a, b, a, b, a]) expect(await attempt(node, 3)).toBe(0);
    expect(await attempt(b, 3)).toBe(500);
  });
});
