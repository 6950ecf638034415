import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { hasRedis } from '../../../test/support/redis.ts';
import { redisBusNodes, waitUntil } from '../../../test/support/redis-bus-nodes.ts';
import type { BusGap } from './event-codec.ts';
import { EVERYONE, type DomainEvent } from './events.ts';
import { DEFAULT_CHANNEL, HEAR_WAIT_MS, RedisBus, ROUTED_AUDIENCE_MAX } from './redis-bus.ts';

/** A read position for `users`: small, unordered (never de-duplicated by seq or rev), so every copy that arrives shows. */
const read = (users: number[], seq: number): DomainEvent => ({ type: 'read', audience: { users }, conv: 'world', seq, unread: 0 });
const progress = (users: number[], received: number): DomainEvent => ({ type: 'fileProgress', audience: { users }, id: 'f', conv: 'world', received, size: 100 });
/** For everyone, on the channel every node hears, published after what a test checks: once it has come, anything sent before it would have. */
const marker = (seq: number): DomainEvent => ({ type: 'read', audience: EVERYONE, conv: 'marker', seq, unread: 0 });

describe.skipIf(!hasRedis)('RedisBus routing by audience', () => {
  const { redis, connect } = redisBusNodes();
  const node = async (routing = true) => {
    const bus = await connect();
    bus.routeWhen(routing);
    const heard: DomainEvent[] = [];
    bus.subscribe((event) => heard.push(event));
    return { bus, heard };
  };
  /** Publishes a marker from `from` and waits until every one of `nodes` has it. */
  let markers = 0;
  const fence = async (from: RedisBus, ...nodes: { heard: DomainEvent[] }[]) => {
    const sent = marker(++markers);
    from.publish(sent);
    const arrived = (event: DomainEvent) => event.type === 'read' && event.conv === 'marker' && event.seq === markers;
    await waitUntil(() => nodes.every(({ heard }) => heard.some(arrived)), `marker ${markers} arrived`);
  };
  const notMarkers = (heard: DomainEvent[]) => heard.filter((event) => !(event.type === 'read' && event.conv === 'marker'));

  it('sends an event for a few users only to the nodes that hear one of them', async () => {
    const [a, b, c] = await Promise.all([node(), node(), node()]);
    await b.bus.hear(2);
    a.bus.publish(read([1, 2], 1)); // a DM's members: user 2 is on B, user 1 on no node
    a.bus.publish(read([3], 2)); // nobody hears user 3
    await fence(a.bus, b, c);
    expect(notMarkers(b.heard)).toEqual([read([1, 2], 1)]);
    expect(notMarkers(c.heard)).toEqual([]);
    // The publisher delivered both to its own subscribers, on its turn.
    expect(notMarkers(a.heard)).toEqual([read([1, 2], 1), read([3], 2)]);
  });

  it('delivers once, on a node that hears two of its users, an event sent to each user’s channel', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    await Promise.all([b.bus.hear(1), b.bus.hear(2)]);
    a.bus.publish(progress([1, 2], 10));
    a.bus.publish(progress([2, 1], 20));
    await fence(a.bus, b);
    a.bus.publish(progress([1, 2], 30)); // a later turn of A's: not taken for a repeat of the first
    await fence(a.bus, b);
    expect(notMarkers(b.heard)).toEqual([progress([1, 2], 10), progress([2, 1], 20), progress([1, 2], 30)]);
  });

  it('has the node hear a user from the moment hear() resolves: an event published right after arrives', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    for (let user = 100; user < 130; user++) {
      await b.bus.hear(user);
      a.bus.publish(read([user], user));
    }
    await fence(a.bus, b);
    expect(notMarkers(b.heard).map((event) => (event.type === 'read' ? event.seq : 0))).toEqual(Array.from({ length: 30 }, (_, i) => 100 + i));
  });

  it('stops sending a user’s events to a node once it stops hearing them, and starts again when it hears them again', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    await b.bus.hear(7);
    a.bus.publish(read([7], 1));
    await fence(a.bus, b);
    b.bus.stopHearing(7);
    await waitUntil(async () => ((await redisAdmin().pubsub('NUMSUB', `${DEFAULT_CHANNEL}:user:7`)) as [string, number])[1] === 0, 'B unsubscribed');
    a.bus.publish(read([7], 2));
    await fence(a.bus, b);
    await b.bus.hear(7);
    a.bus.publish(read([7], 3));
    await fence(a.bus, b);
    expect(notMarkers(b.heard)).toEqual([read([7], 1), read([7], 3)]);
  });

  it('sends an event for more than ROUTED_AUDIENCE_MAX users, and one for everyone, to every node', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    const wide = Array.from({ length: ROUTED_AUDIENCE_MAX + 1 }, (_, i) => 1000 + i);
    a.bus.publish(read(wide, 1));
    a.bus.publish({ type: 'sessionEnded', sessionKey: 'k', reason: 'logged out' });
    await fence(a.bus, b);
    expect(notMarkers(b.heard)).toEqual([read(wide, 1), { type: 'sessionEnded', sessionKey: 'k', reason: 'logged out' }]);
  });

  it('sends a turn for as many users as there are nodes to every node, in one envelope, and a smaller one only where it is heard', async () => {
    const [a, b, c] = await Promise.all([node(), node(), node()]);
    for (const { bus } of [a, b, c]) bus.routeWhen(true, 3);
    await b.bus.hear(2);
    a.bus.publish(read([1, 2], 1)); // two users, three nodes: routed
    await fence(a.bus, b, c);
    a.bus.publish(read([1, 2], 2));
    a.bus.publish(read([3], 3)); // three users in one turn: every node
    await fence(a.bus, b, c);
    expect(notMarkers(b.heard)).toEqual([read([1, 2], 1), read([1, 2], 2), read([3], 3)]);
    expect(notMarkers(c.heard)).toEqual([read([1, 2], 2), read([3], 3)]);
  });

  it('sends every event to every node while routing is off (a node of an earlier version hears only the common channel)', async () => {
    const [a, c] = await Promise.all([node(false), node()]);
    a.bus.publish(read([5], 1));
    await fence(a.bus, c);
    expect(notMarkers(c.heard)).toEqual([read([5], 1)]);
  });

  it('tells the other nodes to read back what they may have missed when routing stops', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    const gaps: BusGap[] = [];
    b.bus.onResumed((gap) => gaps.push(gap));
    a.bus.publish({ type: 'file', rev: 41, audience: { users: [9] }, file: { id: 'f', rev: 41 } as never });
    a.bus.publish({ type: 'file', rev: 40, audience: { users: [9] }, file: { id: 'g', rev: 40 } as never });
    await fence(a.bus, b);
    const before = Date.now();
    a.bus.routeWhen(false);
    await waitUntil(() => gaps.length === 1, 'B was told');
    expect(gaps[0]!.rev).toBe(40);
    // Far enough back for what was routed while the node that cannot hear it ran, unnoticed, until the next heartbeat.
    expect(gaps[0]!.since).toBeLessThanOrEqual(before - 30_000);
  });

  it('hears again, once Redis is back, a user it began to hear while Redis was away', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    await redis().stop();
    await waitUntil(() => !a.bus.connected && !b.bus.connected, 'both nodes noticed');
    await b.bus.hear(11); // resolves at once: Redis is away (bus recovery reads what was missed once it is back)
    await redis().restart();
    await waitUntil(() => a.bus.connected && b.bus.connected, 'both nodes reconnected');
    await waitUntil(async () => ((await redisAdmin().pubsub('NUMSUB', `${DEFAULT_CHANNEL}:user:11`)) as [string, number])[1] === 1, 'B subscribed to user 11');
    a.bus.publish(read([11], 1));
    await fence(a.bus, b);
    expect(notMarkers(b.heard)).toEqual([read([11], 1)]);
  });

  it('does not keep a hello waiting on a Redis that holds the connection but does not answer, and reads back once it does', async () => {
    const [a, b] = await Promise.all([node(), node()]);
    const gaps: BusGap[] = [];
    b.bus.onResumed((gap) => gaps.push(gap));
    const asked = Date.now();
    process.kill(redis().pid!, 'SIGSTOP');
    try {
      await b.bus.hear(21);
      // Given up on after HEAR_WAIT_MS, not kept waiting for as long as Redis is paused.
      expect(Date.now() - asked).toBeLessThan(HEAR_WAIT_MS + 1_500);
      expect(gaps).toEqual([]);
    } finally {
      process.kill(redis().pid!, 'SIGCONT');
    }
    await waitUntil(() => gaps.length === 1, 'B was told to read back');
    expect(gaps[0]!.since).toBeGreaterThanOrEqual(asked);
    expect(gaps[0]!.since).toBeLessThanOrEqual(asked + HEAR_WAIT_MS);
    expect(gaps[0]!.rev).toBeNull();
    a.bus.publish(read([21], 1));
    await fence(a.bus, b);
    expect(notMarkers(b.heard)).toEqual([read([21], 1)]);
  });

  let admin: Redis | null = null;
  function redisAdmin(): Redis {
    if (!admin) {
      admin = new Redis(redis().url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
      admin.on('error', () => {}); // Redis is stopped on purpose below
    }
    return admin;
  }
  afterAll(() => admin?.disconnect());
});
