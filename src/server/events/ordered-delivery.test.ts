import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { scratchDatabase } from '../../../test/support/scratch.ts';
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts';
import { messageEvent, storeMessageSource } from './bus-contract.ts';
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
