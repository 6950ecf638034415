import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { hasRedis } from '../../../test/support/redis.ts';
import { redisBusNodes, waitUntil } from '../../../test/support/redis-bus-nodes.ts';
import { dmId } from '../../protocol/index.ts';
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts';
import type { Bus } from './bus.ts';
import { busContract, messageEvent, storeMessageSource } from './bus-contract.ts';
import type { DomainEvent } from './events.ts';
import { BusRecovery } from './bus-recovery.ts';
import type { BusGap } from './event-codec.ts';
import { OrderedDelivery } from './ordered-delivery.ts';
import { DEFAULT_CHANNEL, RedisBus } from './redis-bus.ts';
import { scratchDatabase } from '../../../test/support/scratch.ts';

const quiet = { error: () => {}, warn: () => {}, info: () => {} };

describe.skipIf(!hasRedis)('RedisBus', () => {
  const { redis, connect } = redisBusNodes();

  // Published on one node, heard on another: every event crosses Redis.
  busContract('redis, across two nodes', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    return { publish: (event) => a.publish(event), subscribe: (handler) => b.subscribe(handler) } satisfies Bus;
  });
  // Published and heard on one node: delivered on the publisher's turn, and not a second time from Redis.
  busContract('redis, on one node', connect);

  it('hears its own events once: on the publisher’s turn, not again from Redis', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const onA: DomainEvent[] = [];
    const onB: DomainEvent[] = [];
    a.subscribe((event) => onA.push(event));
    b.subscribe((event) => onB.push(event));
    const read = (seq: number): DomainEvent => ({ type: 'read', audience: { users: [1] }, conv: 'world', seq, unread: 0 });
    a.publish(read(1));
    expect(onA).toEqual([read(1)]);
    // B hears A's events in the order A published them: once B has the second, A's own copy of the first would have come back.
    a.publish(read(2));
    await waitUntil(() => onB.length === 2, 'B heard both');
    expect(onB).toEqual([read(1), read(2)]);
    expect(onA).toEqual([read(1), read(2)]);
  });

  it('delivers what was lost while Redis was away as soon as it is back, even with nothing sent after', async () => {
    const store = new SqliteStore(scratchDatabase('redis-bus'));
    try {
      const created = await store.createUser({ name: 'alice', nameKey: 'alice', passwordHash: 'h', createdAt: 1 });
      const alice = { id: created!.id, name: 'alice' };
      const [a, b] = await Promise.all([connect(), connect()]);
      const clock = new ManualClock();
      const delivered: number[] = [];
      const delivery = new OrderedDelivery(storeMessageSource(store), (event) => event.type === 'message' && delivered.push(event.seq), clock, quiet);
      const stop = b.subscribe(delivery.accept);
      let resumed = 0;
      b.onResumed((gap) => {
        resumed += 1;
        void delivery.recheck(gap.since);
      });
      const send = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const [result] = await store.commit([{ conv: 'world', sender: alice, clientId: `m-${Math.random()}`, text: 'hi', ts: clock.now() }]);
          if (!result?.ok) throw new Error('commit failed');
          a.publish(messageEvent('world', result.message.seq, result.message));
        }
      };
      await send(2);
      await waitUntil(() => delivered.length === 2, 'the first two arrived');
      await redis().stop();
      await waitUntil(() => !b.connected, 'B noticed');
      await send(2); // the last messages of the conversation: no later one will show the hole
      await redis().restart();
      await waitUntil(() => delivered.length === 4, 'the lost ones were read from storage');
      expect(delivered).toEqual([1, 2, 3, 4]);
      // Its own reconnect, and A's word that it could not publish, if B was subscribed again by then.
      expect(resumed).toBeGreaterThanOrEqual(1);
      stop();
      delivery.stop();
    } finally {
      await store.close();
    }
  });

  it('tells the other nodes when it could not publish, and they read what it lost at once, though their own link to Redis never dropped', async () => {
    const store = new SqliteStore(scratchDatabase('redis-bus'));
    const admin = new Redis(redis().url, { lazyConnect: true });
    try {
      const created = await store.createUser({ name: 'alice', nameKey: 'alice', passwordHash: 'h', createdAt: 1 });
      const alice = { id: created!.id, name: 'alice' };
      const [a, b] = await Promise.all([connect(), connect()]);
      const clock = new ManualClock();
      const delivered: number[] = [];
      const delivery = new OrderedDelivery(storeMessageSource(store), (event) => event.type === 'message' && delivered.push(event.seq), clock, quiet);
      const stop = b.subscribe(delivery.accept);
      const gaps: BusGap[] = [];
      b.onResumed((gap) => {
        gaps.push(gap);
        void delivery.recheck(gap.since);
      });
      let subscriberLost = 0;
      b.onLost(() => subscriberLost++);
      const send = async () => {
        const [result] = await store.commit([{ conv: 'world', sender: alice, clientId: `m-${Math.random()}`, text: 'hi', ts: Date.now() }]);
        if (!result?.ok) throw new Error('commit failed');
        a.publish(messageEvent('world', result.message.seq, result.message));
      };
      await send();
      await send();
      await waitUntil(() => delivered.length === 2, 'the first two arrived');
      // Only the publishing connections drop (the subscribers are of another type): A's next publish fails.
      await admin.connect();
      const beforeKill = Date.now();
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal');
      await send(); // the last message of the conversation: no later one will show B the hole
      await waitUntil(() => delivered.length === 3, 'B read the message A could not publish');
      expect(delivered).toEqual([1, 2, 3]);
      // B's subscriber never dropped (its publisher did, like A's, and reconnects in its own time):
      // the read-back came from A's word alone.
      expect(subscriberLost).toBe(0);
      expect(gaps).toHaveLength(1);
      expect(gaps[0]!.since).toBeGreaterThanOrEqual(beforeKill);
      expect(gaps[0]!.rev).toBeNull(); // no state change was lost
      stop();
      delivery.stop();
    } finally {
      admin.disconnect();
      await store.close();
    }
  });

  it('after Redis comes back, delivers a message of a conversation this node had never seen, for a user connected to it', async () => {
    const store = new SqliteStore(scratchDatabase('redis-bus'));
    try {
      const [alice, bob] = await Promise.all(
        ['alice', 'bob'].map(async (name) => {
          const created = await store.createUser({ name, nameKey: name, passwordHash: 'h', createdAt: 1 });
          return { id: created!.id, name };
        }),
      );
      const [a, b] = await Promise.all([connect(), connect()]);
      const clock = new ManualClock();
      const delivered: string[] = [];
      const delivery = new OrderedDelivery(storeMessageSource(store), (event) => event.type === 'message' && delivered.push(`${event.conv} ${event.seq}`), clock, quiet);
      const stop = b.subscribe(delivery.accept);
      // Alice is connected to B; Bob, on A, writes to her for the first time while Redis is away.
      const recovery = new BusRecovery(
        delivery,
        {
          localUsers: () => [alice!],
          conversationsOf: (user) => store.conversationsOf(user),
          membershipsChangedSince: (userIds, rev) => store.membershipsChangedSince(userIds, rev),
          roomMembersChangedSince: (convs, rev) => store.rooms.membersChangedSince(convs, rev),
          departuresOf: (userIds, rev) => store.rooms.departuresOf(userIds, rev),
          filesChangedSince: (userId, rev, limit) => store.files.changedSince(userId, rev, limit),
        },
        quiet,
        await store.lastRev(),
      );
      const recovered: Promise<void>[] = [];
      b.onLost(() => recovery.lost());
      b.onResumed((gap) => recovered.push(recovery.resumed(gap)));
      await redis().stop();
      await waitUntil(() => !a.connected && !b.connected, 'both nodes noticed');
      const dm = dmId(alice!.id, bob!.id);
      const [result] = await store.commit([{ conv: dm, sender: bob!, clientId: 'first', text: 'hi alice', ts: Date.now(), direct: [bob!, alice!] }]);
      if (!result?.ok) throw new Error('commit failed');
      a.publish(messageEvent(dm, result.message.seq, result.message)); // into the void
      await redis().restart();
      await waitUntil(() => recovered.length > 0, 'B heard Redis again');
      await Promise.all(recovered);
      expect(delivered).toEqual([`${dm} 1`]);
      stop();
      delivery.stop();
    } finally {
      await store.close();
    }
  });

  it('survives Redis stopping and starting again: later events arrive, those lost meanwhile are filled from storage', async () => {
    const store = new SqliteStore(scratchDatabase('redis-bus'));
    const admin = new Redis(redis().url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    try {
      const created = await store.createUser({ name: 'alice', nameKey: 'alice', passwordHash: 'h', createdAt: 1 });
      const alice = { id: created!.id, name: 'alice' };
      const [a, b] = await Promise.all([connect(), connect()]);
      const clock = new ManualClock();
      const delivered: number[] = [];
      const delivery = new OrderedDelivery(storeMessageSource(store), (event) => event.type === 'message' && delivered.push(event.seq), clock, quiet, {
        holeWaitMs: 100,
        idleForgetMs: 600_000,
        revWindow: 100,
        clockSkewMs: 1000,
      });
      const stop = b.subscribe(delivery.accept);
      const send = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const [result] = await store.commit([{ conv: 'world', sender: alice, clientId: `m-${Math.random()}`, text: 'hi', ts: clock.now() }]);
          if (!result?.ok) throw new Error('commit failed');
          a.publish(messageEvent('world', result.message.seq, result.message));
        }
      };

      await send(3);
      await waitUntil(() => delivered.length === 3, 'the first three arrived');

      await redis().stop();
      await waitUntil(() => !a.connected && !b.connected, 'both nodes noticed');
      await send(2); // seq 4 and 5: committed, published into the void

      await redis().restart();
      await waitUntil(() => a.connected && b.connected, 'both nodes reconnected');
      await admin.connect();
      await waitUntil(async () => ((await admin.pubsub('NUMSUB', DEFAULT_CHANNEL)) as [string, number])[1] >= 2, 'both nodes subscribed again');
      await send(2); // seq 6 and 7 cross Redis, and show B the hole

      await waitUntil(() => delivery.heldCount === 2, 'B holds 6 and 7');
      expect(delivered).toEqual([1, 2, 3]);
      await clock.advance(100); // no 4 came: B reads 4 and 5 from storage
      await waitUntil(() => delivered.length === 7, 'the hole was filled');
      expect(delivered).toEqual([1, 2, 3, 4, 5, 6, 7]);
      stop();
      delivery.stop();
    } finally {
      admin.disconnect();
      await store.close();
    }
  });
});
