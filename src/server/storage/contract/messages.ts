import { describe, expect, it } from 'vitest';
import { committed, pending, withUsers, type OpenStore } from './support.ts';

/** Messages beyond the basics: membership inside the commit, conversations, summaries. */
export function messagesContract(open: OpenStore): void {
  describe('messages and memberships', () => {
    it('stores nothing from a sender who is not a member, and creates a DM only with its two members', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      const dm = `dm:${alice!.id}:${bob!.id}`;
      expect(await store.commit([pending(dm, alice!, 'no-members-given')])).toEqual([{ ok: false, reason: 'not-member' }]);
      expect(await store.conversationState(dm)).toBeNull();
      const first = committed((await store.commit([{ ...pending(dm, alice!, 'first'), direct: [alice!, bob!] }]))[0]);
      expect(await store.commit([pending(dm, carol!, 'intruder')])).toEqual([{ ok: false, reason: 'not-member' }]);
      expect(await store.memberIds(dm)).toEqual([alice!.id, bob!.id].sort((a, b) => a - b));
      expect(await store.conversationState(dm)).toEqual({ kind: 'dm', lastSeq: 1, members: expect.arrayContaining([alice!.id, bob!.id]) });
      expect(await store.lastSeq(dm)).toBe(1);
      expect(await store.membership(carol!.id, dm)).toBeNull();
      // A commit's members are its message's audience as they are (chat/publish.ts): each member once.
      const second = committed((await store.commit([pending(dm, bob!, 'second')]))[0]);
      for (const result of [first, second]) expect([...result.members!].sort((a, b) => a - b)).toEqual([alice!.id, bob!.id].sort((a, b) => a - b));
      await store.close();
    });

    it('gives each new membership a rev of the server-wide counter, increasing', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      const first = committed((await store.commit([{ ...pending(`dm:${alice!.id}:${bob!.id}`, alice!, 'x'), direct: [alice!, bob!] }]))[0]);
      const second = committed((await store.commit([{ ...pending(`dm:${alice!.id}:${carol!.id}`, alice!, 'y'), direct: [alice!, carol!] }]))[0]);
      const revs = [...first.created, ...second.created].map((c) => c.rev);
      expect(revs).toEqual([...revs].sort((a, b) => a - b));
      expect(new Set(revs).size).toBe(4);
      await store.close();
    });

    it('summarises each conversation of a user: kind, peer or room, role, positions, unread and the last message', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      const dm = `dm:${alice!.id}:${bob!.id}`;
      await store.commit([{ ...pending(dm, alice!, 'd1'), direct: [alice!, bob!] }, pending('world', alice!, 'w1')]);
      await store.rooms.create({ conv: 'room:AAAAAAAAAAAA', name: 'Room', nameKey: 'room', topic: 't', visibility: 'private', owner: alice!, ts: 5 }, [bob!]);
      const summaries = await store.conversationsOf(bob!);
      expect(summaries.map((s) => s.kind)).toEqual(['world', expect.any(String), expect.any(String)]);
      expect(summaries.find((s) => s.id === dm)).toMatchObject({ kind: 'dm', peer: alice, lastSeq: 1, readSeq: 0, unread: 1, last: { text: 'd1' } });
      const room = summaries.find((s) => s.kind === 'room');
      expect(room).toMatchObject({ role: 'member', lastSeq: 2, unread: 0, room: { name: 'Room', topic: 't', visibility: 'private', memberCount: 2 } });
      expect(room!.last).toMatchObject({ seq: 2, system: { kind: 'invited', user: bob } });
      expect(await store.conversationOf(bob!, dm)).toEqual(summaries.find((s) => s.id === dm));
      const [carol] = await withUsers(store, 'carol');
      expect(await store.conversationOf(carol!, dm)).toBeNull();
      await store.close();
    });
  });
}
