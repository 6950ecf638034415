import { afterEach, describe, expect, it } from 'vitest';
import type { FileCard, UserRef } from '../../protocol/index.ts';
import { systemClock } from '../clock.ts';
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts';
import type { Store } from '../storage/store.ts';
import type { Bus } from './bus.ts';
import { EVERYONE, type DomainEvent, type MessageEvent } from './events.ts';
import { FaultyBus, type Fault } from './faulty-bus.ts';
import { OrderedDelivery, type MessageSource } from './ordered-delivery.ts';
import { scratchDatabase } from '../../../test/support/scratch.ts';

const silent = { error: () => {} };

/**
 * The behaviour every Bus adapter must have, seen through the subscribers that use it
 * (OrderedDelivery, as the gateway does): each message is delivered once, in seq order per
 * conversation, even when the bus repeats, reorders or drops events; a hole is filled from
 * storage; a state change is delivered once per rev. Messages are committed to a real SQLite
 * store first, as the domain does, so storage can fill what the bus lost.
 */
export function busContract(name: string, makeBus: () => Bus | Promise<Bus>): void {
  describe(`${name}: bus contract`, () => {
    const cleanups: (() => unknown)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function world(options: { faults?: (event: DomainEvent, index: number) => Fault; subscribers?: number } = {}) {
      const store = new SqliteStore(scratchDatabase('bus'));
      cleanups.push(() => store.close());
      const created = await store.createUser({ name: 'alice', nameKey: 'alice', passwordHash: 'h', createdAt: 1 });
      const alice: UserRef = { id: created!.id, name: 'alice' };
      const inner = await makeBus();
      const bus = options.faults ? new FaultyBus(inner, options.faults) : inner;
      const source = storeMessageSource(store);
      const received = Array.from({ length: options.subscribers ?? 2 }, () => [] as DomainEvent[]);
      for (const log of received) {
        const delivery = new OrderedDelivery(source, (event) => log.push(event), systemClock, silent, {
          holeWaitMs: 5,
          idleForgetMs: 60_000,
          revWindow: 100,
          clockSkewMs: 1000,
        });
        cleanups.push(bus.subscribe(delivery.accept), () => delivery.stop());
      }
      /** Commits `count` messages to `conv` and publishes each after its commit. */
      const send = async (conv: string, count: number) => {
        for (let i = 0; i < count; i++) {
          const [result] = await store.commit([{ conv, sender: alice, clientId: `${conv}-${i}-${Math.random()}`, text: `${conv} ${i}`, ts: Date.now() }]);
          if (!result?.ok) throw new Error('commit failed');
          bus.publish(messageEvent(conv, result.message.seq, result.message));
        }
        if (bus instanceof FaultyBus) bus.flush();
      };
      const seqs = (log: DomainEvent[], conv: string) => log.flatMap((e) => (e.type === 'message' && e.conv === conv ? [e.seq] : []));
      return { store, bus, received, send, seqs, alice };
    }

    const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

    it('delivers every message to every subscriber once, in seq order', async () => {
      const { received, send, seqs } = await world();
      await send('world', 20);
      await settle(() => received.every((log) => seqs(log, 'world').length === 20));
      for (const log of received) expect(seqs(log, 'world')).toEqual(range(20));
    });

    it('puts reordered messages back in order without waiting for storage', async () => {
      // Every third message is overtaken by the next one.
      const { received, send, seqs } = await world({ faults: (_event, i) => (i % 3 === 0 ? 'delay' : 'pass') });
      await send('world', 30);
      await settle(() => received.every((log) => seqs(log, 'world').length === 30));
      for (const log of received) expect(seqs(log, 'world')).toEqual(range(30));
    });

    it('delivers a repeated message once', async () => {
      const { received, send, seqs } = await world({ faults: (_event, i) => (i % 2 === 0 ? 'duplicate' : 'pass') });
      await send('world', 10);
      // A repeat would come right behind its original: the last message delivered means every repeat came too.
      await settle(() => received.every((log) => seqs(log, 'world').length >= 10));
      for (const log of received) expect(seqs(log, 'world')).toEqual(range(10));
    });

    it('fills a dropped message from storage after a short wait, and delivers what came after it in order', async () => {
      const { received, send, seqs } = await world({ faults: (_event, i) => (i === 3 || i === 7 || i === 8 ? 'drop' : 'pass') });
      await send('world', 12);
      await settle(() => received.every((log) => seqs(log, 'world').length === 12));
      for (const log of received) expect(seqs(log, 'world')).toEqual(range(12));
    });

    it('keeps each conversation in its own order when faults of every kind are mixed', async () => {
      const faults: Fault[] = ['pass', 'delay', 'duplicate', 'pass', 'drop', 'delay', 'pass', 'duplicate'];
      const { received, send, seqs, store, alice } = await world({ faults: (_event, i) => faults[i % faults.length]! });
      const room = 'room:AAAAAAAAAAAA';
      await store.rooms.create({ conv: room, name: 'r', nameKey: 'r', topic: '', visibility: 'public', owner: alice, ts: 1 }, []);
      await Promise.all([send('world', 25), send(room, 25)]);
      // The room's first message is its "created" system message, committed with it (seq 1).
      await settle(() => received.every((log) => seqs(log, 'world').length === 25 && seqs(log, room).length === 25));
      for (const log of received) {
        expect(seqs(log, 'world')).toEqual(range(25));
        expect(seqs(log, room)).toEqual(range(26).slice(1));
      }
    });

    it('starts a conversation at the messages a subscriber could have missed: a dropped first one is filled, older history is not replayed', async () => {
      const { received, send, seqs, store, alice } = await world({ faults: (event, i) => (i === 0 ? 'drop' : 'pass') });
      const hourAgo = Date.now() - 3_600_000;
      // Committed before the subscribers started (and never published to them): history, not theirs to deliver.
      await store.commit([1, 2, 3].map((i) => ({ conv: 'world', sender: alice, clientId: `old-${i}`, text: 'old', ts: hourAgo })));
      await send('world', 4);
      await settle(() => received.every((log) => seqs(log, 'world').length === 4));
      for (const log of received) expect(seqs(log, 'world')).toEqual([4, 5, 6, 7]);
    });

    it('delivers a state change once per rev, however often the bus repeats it', async () => {
      const { bus, received } = await world({ faults: () => 'duplicate' });
      const card = { id: 'f', rev: 0 } as FileCard;
      for (const rev of [5, 6, 5, 7]) bus.publish({ type: 'file', rev, audience: EVERYONE, file: { ...card, rev } });
      await settle(() => received.every((log) => log.some((e) => e.type === 'file' && e.rev === 7)));
      for (const log of received) expect(log.map((e) => (e.type === 'file' ? e.rev : null))).toEqual([5, 6, 7]);
    });

    it('stops delivering to a subscriber that unsubscribed, and keeps delivering to the others', async () => {
      const bus = await makeBus();
      const a: DomainEvent[] = [];
      const b: DomainEvent[] = [];
      const stopA = bus.subscribe((event) => a.push(event));
      const stopB = bus.subscribe((event) => b.push(event));
      cleanups.push(stopB);
      const presence: DomainEvent = { type: 'presence', audience: EVERYONE, changes: [] };
      bus.publish(presence);
      await settle(() => a.length === 1 && b.length === 1);
      stopA();
      bus.publish(presence);
      // Both subscribers hear each event together: once b has the second, a would have had it too.
      await settle(() => b.length === 2);
      expect(a).toHaveLength(1);
    });

    it('keeps delivering to every subscriber when one of them throws', async () => {
      const bus = await makeBus();
      const seen: DomainEvent[] = [];
      cleanups.push(
        bus.subscribe(() => {
          throw new Error('a broken subscriber');
        }),
        bus.subscribe((event) => seen.push(event)),
      );
      expect(() => bus.publish({ type: 'presence', audience: EVERYONE, changes: [] })).not.toThrow();
      await settle(() => seen.length === 1);
    });
  });
}

/** Waits (in real time, at most 5 s) until `check` holds: an adapter may deliver on a later turn. */
async function settle(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('subscribers did not settle');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Where a test's subscribers read what the bus lost: the store, as Chat.replay does (every audience `everyone`). */
export function storeMessageSource(store: Store): MessageSource {
  return {
    async messagesAfter(conv, afterSeq, limit) {
      return (await store.after(conv, afterSeq, limit)).map((message) => messageEvent(message.conv, message.seq, message));
    },
    async messagesBefore(conv, beforeSeq, sinceTs, limit) {
      const { messages } = await store.page(conv, limit, beforeSeq);
      return messages.filter((message) => message.ts >= sinceTs).map((message) => messageEvent(message.conv, message.seq, message));
    },
  };
}

export function messageEvent(conv: string, seq: number, message: MessageEvent['message']): MessageEvent {
  return { type: 'message', conv, seq, convKind: conv === 'world' ? 'world' : 'room', audience: EVERYONE, message };
}
