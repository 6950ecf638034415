import { describe, expect, it } from 'vitest';
import type { UserRef } from '../../../protocol/index.ts';
import type { Store } from '../store.ts';
import { committed, pending, withUsers, type OpenStore } from './support.ts';

async function offer(store: Store, from: UserRef, to: UserRef, id: string, clientId = id, expiresAt = 10_000) {
  const conv = `dm:${Math.min(from.id, to.id)}:${Math.max(from.id, to.id)}`;
  const direct = from.id < to.id ? ([from, to] as const) : ([to, from] as const);
  const file = { id, recipient: to, name: `${id}.txt`, size: 3, type: 'text/plain', sha256: 'a'.repeat(64), expiresAt };
  return committed((await store.commit([{ ...pending(conv, from, clientId), direct, file }]))[0]).message.file!;
}

/** File records: cards inserted with their offer message, compare-and-set changes, revs, queries. */
export function filesContract(open: OpenStore): void {
  describe('file records', () => {
    it('inserts a card with its offer message and finds it by id, with the message', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      const card = await offer(store, alice!, bob!, 'AAAAAAAAAAAAAAAAAAAAAA');
      expect(card).toMatchObject({ state: 'offered', from: alice, to: bob, received: 0, seq: 1, offeredAt: 1000, expiresAt: 10_000 });
      expect(await store.files.byId(card.id)).toEqual(card);
      expect(await store.files.byId('BBBBBBBBBBBBBBBBBBBBBB')).toBeNull();
      expect((await store.page(card.conv, 10)).messages[0]!.file).toEqual(card);
      await store.close();
    });

    it('changes a card only from the given states (compare-and-set), each change with a higher rev', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      const card = await offer(store, alice!, bob!, 'AAAAAAAAAAAAAAAAAAAAAA');
      const accepted = await store.files.update(card.id, ['offered'], { state: 'accepted', decidedAt: 2 });
      expect(accepted).toMatchObject({ state: 'accepted', decidedAt: 2 });
      expect(accepted!.rev).toBeGreaterThan(card.rev);
      expect(await store.files.update(card.id, ['offered'], { state: 'declined' })).toBeNull();
      expect((await store.files.byId(card.id))!.rev).toBe(accepted!.rev);
      const failed = await store.files.update(card.id, ['accepted'], { state: 'failed', error: 'FILE_HASH_MISMATCH', expiresAt: null });
      expect(failed).toMatchObject({ state: 'failed', error: 'FILE_HASH_MISMATCH' });
      expect(failed!.expiresAt).toBeUndefined();
      expect(await store.files.update('BBBBBBBBBBBBBBBBBBBBBB', ['offered'], { state: 'accepted' })).toBeNull();
      await store.close();
    });

    it('shares one rev counter with memberships, so no two changes of state have the same rev', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      const card = await offer(store, alice!, bob!, 'AAAAAAAAAAAAAAAAAAAAAA');
      const room = await store.rooms.create({ conv: 'room:AAAAAAAAAAAA', name: 'r', nameKey: 'r', topic: '', visibility: 'public', owner: alice!, ts: 1 }, []);
      const accepted = await store.files.update(card.id, ['offered'], { state: 'accepted' });
      const revs = [card.rev, room.members[0]!.rev, accepted!.rev];
      expect(revs).toEqual([...revs].sort((a, b) => a - b));
      expect(new Set(revs).size).toBe(3);
      await store.close();
    });

    it('lists a user’s cards by state and conversation, changes since a rev, expiring and completed ones', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      const one = await offer(store, alice!, bob!, 'AAAAAAAAAAAAAAAAAAAAAA', 'o1', 500);
      const two = await offer(store, alice!, carol!, 'BBBBBBBBBBBBBBBBBBBBBB', 'o2', 5_000);
      await store.files.update(two.id, ['offered'], { state: 'accepted' });
      const done = await store.files.update(two.id, ['accepted'], { state: 'completed', completedAt: 700, expiresAt: null });
      expect((await store.files.ofUser(alice!.id, { limit: 10 })).map((c) => c.id).sort()).toEqual([one.id, two.id].sort());
      expect((await store.files.ofUser(alice!.id, { limit: 10, states: ['offered', 'accepted'] })).map((c) => c.id)).toEqual([one.id]);
      expect((await store.files.ofUser(carol!.id, { limit: 10, conv: two.conv })).map((c) => c.id)).toEqual([two.id]);
      expect(await store.files.ofUser(bob!.id, { limit: 10, conv: two.conv })).toEqual([]);
      expect((await store.files.changedSince(carol!.id, one.rev, 10)).map((c) => [c.id, c.rev])).toEqual([[two.id, done!.rev]]);
      expect((await store.files.changedSince(bob!.id, one.rev, 10))).toEqual([]);
      expect((await store.files.expiring(600, 10)).map((c) => c.id)).toEqual([one.id]);
      expect((await store.files.completedBefore(700, 10)).map((c) => c.id)).toEqual([two.id]);
      expect(await store.files.completedBefore(699, 10)).toEqual([]);
      await store.close();
    });
  });
}
