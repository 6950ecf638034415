import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { scratchDatabase } from '../../../test/support/scratch.ts';
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts';
import { messageEvent, storeMessageSource } from './bus-contract.ts';
import type { MessageEvent } from './events.ts';
import { OrderedDelivery } from './ordered-delivery.ts';

const quiet = { error: () => {} };

/** OrderedDelivery against a real store when the bus loses many messages (a Redis outage under load). */
describe('OrderedDelivery after many lost messages', () => {
  async function world(count: number) {
    const store = new SqliteStore(scratchDatabase('ordered-delivery'));
    const created = await store.createUser({ name: 'alice', nameKey: 'alice', passwordHash: 'h', createdAt: 1 });
    const alice = { id: created!.id, name: 'alice' };
    const messages = [];
    for (let i = 0; i < count; i++) {
      const [result] = await store.commit([{ conv: 'world', sender: alice, clientId: `m${i}`, text: `m${i}`, ts: 1000 }]);
      if (!result?.ok) throw new Error('commit failed');
      messages.push(messageEvent('world', result.message.seq, result.message));
    }
    const clock = new ManualClock(2000);
    const delivered: number[] = [];
    const delivery = new OrderedDelivery(storeMessageSource(store), (event) => event.type === 'message' && delivered.push(event.seq), clock, quiet);
    return { store, messages, clock, delivered, delivery };
  }

  it('fills every hole up to the last message held after one wait, not one hole per wait', async () => {
    const { store, messages, clock, delivered, delivery } = await world(31);
    delivery.accept(messages[0]!);
    // This node's own messages arrive (every third: 4, 7, … 31); the others' were lost.
    for (let seq = 4; seq <= 31; seq += 3) delivery.accept(messages[seq - 1]!);
    expect(delivered).toEqual([1]);
    await clock.advance(100); // one hole wait
    await expect.poll(() => delivered.length).toBe(31);
    expect(delivered).toEqual(messages.map((message) => message.seq));
    delivery.stop();
    await store.close();
  });

  it('rechecks to the end of a conversation, past one page of storage, though nothing held shows how far', async () => {
    const { store, messages, delivered, delivery } = await world(1200);
    delivery.accept(messages[0]!);
    await delivery.recheck(0);
    expect(delivered).toEqual(messages.map((message) => message.seq));
    delivery.stop();
    await store.close();
  });
});

/**
 * A node whose bus routes by audience hears a conversation only while it holds one of its members
 * (redis-bus.ts): when the last leaves and one comes back later, the conversation has moved on,
 * and the member read everything before their hello when they said it.
 */
describe('OrderedDelivery hearing a conversation again', () => {
  async function world() {
    const store = new SqliteStore(scratchDatabase('ordered-delivery'));
    const created = await store.createUser({ name: 'alice', nameKey: 'alice', passwordHash: 'h', createdAt: 1 });
    const alice = { id: created!.id, name: 'alice' };
    const clock = new ManualClock(10_000);
    const messages: MessageEvent[] = [];
    const commit = async (ts: number) => {
      const [result] = await store.commit([{ conv: 'world', sender: alice, clientId: `m${messages.length}`, text: 'hi', ts }]);
      if (!result?.ok) throw new Error('commit failed');
      messages.push(messageEvent('world', result.message.seq, result.message));
    };
    const delivered: number[] = [];
    let heardSince: number | null = -Infinity;
    let reads = 0;
    const source = storeMessageSource(store);
    const counted = {
      messagesAfter: (...args: Parameters<typeof source.messagesAfter>) => (reads++, source.messagesAfter(...args)),
      messagesBefore: (...args: Parameters<typeof source.messagesBefore>) => (reads++, source.messagesBefore(...args)),
    };
    const delivery = new OrderedDelivery(counted, (event) => event.type === 'message' && delivered.push(event.seq), clock, quiet, undefined, () => heardSince);
    return { store, clock, commit, messages, delivered, delivery, hear: (since: number | null) => (heardSince = since), reads: () => reads };
  }

  it('starts afresh, with no hole to wait for, when every recipient here began hearing it after it was last heard', async () => {
    const { store, clock, commit, messages, delivered, delivery, hear, reads } = await world();
    for (let i = 0; i < 3; i++) await commit(clock.now());
    for (const message of messages) delivery.accept(message);
    expect(delivered).toEqual([1, 2, 3]);
    // The last member here leaves; 20 messages go by unheard; a member says hello a minute later.
    await clock.advance(5_000);
    for (let i = 0; i < 20; i++) await commit(clock.now());
    await clock.advance(60_000);
    hear(clock.now());
    await commit(clock.now() + 10);
    delivery.accept(messages.at(-1)!);
    // Delivered at once (no hole wait), and none of the 20 it read before saying hello.
    await expect.poll(() => delivered).toEqual([1, 2, 3, 24]);
    expect(reads()).toBe(1); // one look for messages that overtook it since the hello: none
    delivery.stop();
    await store.close();
  });

  it('fills the hole as ever when a recipient here has heard it all along', async () => {
    const { store, clock, commit, messages, delivered, delivery, hear } = await world();
    hear(clock.now());
    for (let i = 0; i < 3; i++) await commit(clock.now());
    for (const message of messages) delivery.accept(message);
    await clock.advance(5_000);
    for (let i = 0; i < 20; i++) await commit(clock.now());
    delivery.accept(messages.at(-1)!); // 4 to 22 lost on the way
    expect(delivered).toEqual([1, 2, 3]);
    await clock.advance(100);
    await expect.poll(() => delivered.length).toBe(23);
    expect(delivered).toEqual(messages.map((message) => message.seq));
    delivery.stop();
    await store.close();
  });

  it('reads nothing from storage for a conversation nobody here is in, though it hears only some of its messages; a member who comes later starts it afresh', async () => {
    const { store, clock, commit, messages, delivered, delivery, hear, reads } = await world();
    hear(null); // nobody it is for is on this node
    for (let i = 0; i < 8; i++) await commit(clock.now());
    // Heard now and then on the channel every node hears; the rest went to its members' channels, elsewhere.
    delivery.accept(messages[1]!); // the first one seen is not seq 1: no start to look up
    delivery.accept(messages[4]!); // 3 and 4 went elsewhere: no hole to fill
    await clock.advance(1_000);
    expect(reads()).toBe(0);
    expect(delivered).toEqual([]);
    // A member says hello; the next message comes to their channel.
    await clock.advance(5_000);
    hear(clock.now());
    await commit(clock.now() + 10);
    delivery.accept(messages.at(-1)!);
    await expect.poll(() => delivered).toEqual([9]);
    expect(reads()).toBe(1); // one look for messages that overtook it since the hello: none
    delivery.stop();
    await store.close();
  });

  it('reads nothing from before the hello for a conversation forgotten while its members were away, though it went by within the idle time', async () => {
    const { store, clock, commit, messages, delivered, delivery, hear } = await world();
    hear(clock.now());
    for (let i = 0; i < 3; i++) await commit(clock.now());
    for (const message of messages) delivery.accept(message);
    expect(delivered).toEqual([1, 2, 3]);
    // The last member here leaves; nothing comes for 25 minutes, so the position is forgotten as idle.
    await clock.advance(25 * 60_000);
    // 20 messages go by unheard, then a member says hello two minutes later, well within the
    // 10 idle minutes but longer than the clock skew: their catch-up sent them all.
    for (let i = 0; i < 20; i++) await commit(clock.now());
    await clock.advance(2 * 60_000);
    hear(clock.now());
    await commit(clock.now() + 10);
    delivery.accept(messages.at(-1)!);
    await expect.poll(() => delivered).toEqual([1, 2, 3, 24]);
    await clock.advance(1_000); // no hole wait to come either
    expect(delivered).toEqual([1, 2, 3, 24]);
    delivery.stop();
    await store.close();
  });
});
