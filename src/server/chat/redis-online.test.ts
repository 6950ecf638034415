import { afterEach, describe, expect, it } from 'vitest';
import type { PresenceChange } from '../../protocol/index.ts';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { hasRedis, privateRedis } from '../../../test/support/redis.ts';
import type { Bus } from '../events/bus.ts';
import { InProcessBus } from '../events/in-process-bus.ts';
import { RedisBus } from '../events/redis-bus.ts';
import { connectRedis } from '../redis/connect.ts';
import { RedisClockOffset } from '../redis/redis-clock.ts';
import { DEFAULT_REDIS_ONLINE, RedisOnline } from './redis-online.ts';

const quiet = { error: () => {}, warn: () => {}, info: () => {} };
const alice = { id: 1, name: 'alice' };
const bob = { id: 2, name: 'bob' };
const carol = { id: 3, name: 'carol' };

describe.skipIf(!hasRedis)('presence across nodes (RedisOnline)', () => {
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A node: its own bus, Redis connection and clock; `heard` is what its clients are told. */
  async function node(clock: ManualClock, prefix: string, ownBus?: Bus, { onRedisTime = false } = {}) {
    const redisBus = await RedisBus.connect(redis().url, quiet);
    const bus = ownBus ?? redisBus;
    const client = await connectRedis(redis().url, 'test', quiet);
    // As RedisCluster runs it: the node's clock moved onto Redis's.
    const offset = new RedisClockOffset(client, clock, quiet);
    if (onRedisTime) await offset.start();
    const heard: PresenceChange[] = [];
    const unsubscribe = bus.subscribe((event) => event.type === 'presence' && heard.push(...event.changes));
    const local = { publish: (event: { type: string; changes?: PresenceChange[] }) => heard.push(...(event.changes ?? [])) };
    const online = await RedisOnline.start(client, bus, local, onRedisTime ? offset.corrected() : clock, quiet, { ...DEFAULT_REDIS_ONLINE, prefix });
    cleanups.push(() => redisBus.close(), () => client.quit(), unsubscribe, () => online.stop(), () => offset.stop());
    const told = (user: { id: number }, isOnline: boolean) => heard.filter((change) => change.user.id === user.id && change.online === isOnline).length;
    return { online, heard, told, connected: () => redisBus.connected && client.status === 'ready' };
  }

  const waitUntil = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  it('shows a user online on any node as online on every node, and offline only when their last connection anywhere closes', async () => {
    const clock = new ManualClock();
    const a = await node(clock, 'p1:');
    const b = await node(clock, 'p1:');

    a.online.connected(alice);
    await waitUntil(() => b.online.isOnline(alice.id) && b.told(alice, true) === 1 && a.told(alice, true) === 1, 'both nodes were told alice is online');
    expect(JSON.parse(b.online.usersJson())).toEqual([alice]);

    // Alice opens a tab on B too; bob's arrival in the same window is the barrier that shows no second "online" was sent for her.
    b.online.connected(alice);
    b.online.connected(bob);
    await waitUntil(() => a.told(bob, true) === 1 && b.told(bob, true) === 1, 'both nodes were told bob is online');
    expect([a.told(alice, true), b.told(alice, true)]).toEqual([1, 1]);

    // Her tab on A closes: she is still on B. Carol is the barrier.
    a.online.disconnected(alice);
    a.online.connected(carol);
    await waitUntil(() => b.told(carol, true) === 1 && a.told(carol, true) === 1, 'both nodes were told carol is online');
    expect([a.told(alice, false), b.told(alice, false)]).toEqual([0, 0]);
    expect([a.online.isOnline(alice.id), b.online.isOnline(alice.id)]).toEqual([true, true]);

    b.online.disconnected(alice);
    await waitUntil(() => a.told(alice, false) === 1 && b.told(alice, false) === 1, 'both nodes were told alice is offline');
    expect([a.online.isOnline(alice.id), b.online.isOnline(alice.id)]).toEqual([false, false]);
  });

  it('takes a dead node’s users offline on the other nodes once their entries expire (15 s after its last renewal, 20 s at most)', async () => {
    const start = Date.now();
    const clockA = new ManualClock(start);
    const clockB = new ManualClock(start);
    const a = await node(clockA, 'p2:');
    const b = await node(clockB, 'p2:');
    a.online.connected(alice);
    b.online.connected(bob);
    await waitUntil(() => b.online.isOnline(alice.id) && a.online.isOnline(bob.id), 'each node sees the other’s user');

    // A dies: its clock never moves again, so it never renews alice's entry. B goes on.
    for (const at of [5_000, 10_000]) {
      await clockB.advance(5_000);
      expect(b.online.isOnline(alice.id), `alice at ${at} ms`).toBe(true);
    }
    expect(b.told(alice, false)).toBe(0);
    await clockB.advance(5_000);
    expect(b.online.isOnline(alice.id)).toBe(false);
    await waitUntil(() => b.told(alice, false) === 1, 'B’s clients were told alice is offline');
    // B's own user is renewed by B and stays.
    await clockB.advance(20_000);
    expect(b.online.isOnline(bob.id)).toBe(true);
    expect(b.told(bob, false)).toBe(0);
  });

  it('keeps the users of a node whose clock is a minute behind the others online, on Redis’s time, while it renews them', async () => {
    for (const onRedisTime of [false, true]) {
      const prefix = onRedisTime ? 'p5:' : 'p6:';
      const start = Date.now();
      const clockA = new ManualClock(start - 60_000);
      const clockB = new ManualClock(start);
      const a = await node(clockA, prefix, undefined, { onRedisTime });
      const b = await node(clockB, prefix, undefined, { onRedisTime });
      a.online.connected(alice);
      b.online.connected(bob);
      await waitUntil(() => a.online.isOnline(bob.id), 'A sees bob');
      // Both nodes live and renew, 30 s in steps of 5.
      for (let step = 0; step < 6; step++) {
        await clockA.advance(5_000);
        await clockB.advance(5_000);
      }
      if (onRedisTime) {
        // Both nodes read one time: alice stays online, and B's clients are never told otherwise.
        expect(b.online.isOnline(alice.id)).toBe(true);
        expect(b.told(alice, false)).toBe(0);
      } else {
        // The flap this prevents: on each machine's own clock, B takes A's fresh entries for a minute old and sweeps them.
        expect(b.told(alice, false)).toBeGreaterThan(0);
      }
    }
  });

  it('tells a node’s clients, at its next refresh, the changes whose events it lost', async () => {
    const clock = new ManualClock();
    const b = await node(clock, 'p3:');
    // A's events never reach B (a bus of its own): each of them is lost, as in a Redis blip.
    const a = await node(clock, 'p3:', new InProcessBus(quiet));
    a.online.connected(carol);
    await waitUntil(() => a.told(carol, true) === 1, 'A announced carol');
    expect(b.online.isOnline(carol.id)).toBe(false);
    await clock.advance(5_000);
    expect(b.online.isOnline(carol.id)).toBe(true);
    expect(b.told(carol, true)).toBe(1);

    a.online.disconnected(carol);
    await waitUntil(() => a.told(carol, false) === 1, 'A announced carol left');
    // Missing from Redis once could be a Redis that just restarted empty: twice is gone.
    await clock.advance(5_000);
    expect(b.online.isOnline(carol.id)).toBe(true);
    await clock.advance(5_000);
    expect(b.online.isOnline(carol.id)).toBe(false);
    expect(b.told(carol, false)).toBe(1);
  });

  // Last: it restarts the Redis every test here shares.
  it('shows nobody leaving when Redis restarts empty: every node puts its users back at its next refresh', async () => {
    const start = Date.now();
    const clockA = new ManualClock(start);
    const clockB = new ManualClock(start);
    const a = await node(clockA, 'p4:');
    const b = await node(clockB, 'p4:');
    a.online.connected(alice);
    b.online.connected(bob);
    await waitUntil(() => b.online.isOnline(alice.id) && a.online.isOnline(bob.id), 'each node sees the other’s user');

    await redis().restart();
    await waitUntil(() => a.connected() && b.connected(), 'both nodes reconnected');
    // B refreshes first, while Redis has only what B just put back: alice is missing there once.
    await clockB.advance(5_000);
    expect(b.online.isOnline(alice.id)).toBe(true);
    await clockA.advance(5_000);
    await clockB.advance(5_000);
    expect([a.told(alice, false), a.told(bob, false), b.told(alice, false), b.told(bob, false)]).toEqual([0, 0, 0, 0]);
    expect([a.online.isOnline(bob.id), b.online.isOnline(alice.id)]).toEqual([true, true]);
  });
});
