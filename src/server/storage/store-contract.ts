import { describe, expect, it } from 'vitest';
import type { UserRef } from '../../protocol/index.ts';
import { filesContract } from './contract/files.ts';
import { messagesContract } from './contract/messages.ts';
import { roomsContract } from './contract/rooms.ts';
import { usersContract } from './contract/users.ts';
import type { CommitResult, PendingMessage, Store } from './store.ts';

/**
 * The behaviour every Store adapter must have (SQLite today, PostgreSQL next): every method of
 * the port, file records and rooms included (contract/*.ts). Each adapter's test calls this with
 * a factory that opens a fresh store (and can reopen the same one, to prove durability).
 */
export function storeContract(name: string, open: () => Promise<{ store: Store; reopen: () => Promise<Store> }>): void {
  describe(`${name} store contract`, () => {
    async function withUsers(store: Store, ...names: string[]): Promise<UserRef[]> {
      const users: UserRef[] = [];
      for (const userName of names) {
        const user = await store.createUser({ name: userName, nameKey: userName.toLowerCase(), passwordHash: 'h', createdAt: 1 });
        users.push({ id: user!.id, name: user!.name });
      }
      return users;
    }
    const pending = (conv: string, sender: UserRef, clientId: string, text = clientId): PendingMessage => ({
      conv,
      sender,
      clientId,
      text,
      ts: 1000,
    });
    const committed = (result: CommitResult | undefined) => {
      if (!result?.ok) throw new Error('expected a committed message');
      return result;
    };

    it('refuses a second user with the same name key', async () => {
      const { store } = await open();
      await withUsers(store, 'alice');
      expect(await store.createUser({ name: 'ALICE', nameKey: 'alice', passwordHash: 'h', createdAt: 2 })).toBeNull();
      await store.close();
    });

    it('numbers messages per conversation and stores a repeated client id once, even within one batch', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      const dm = `dm:${alice!.id}:${bob!.id}`;
      const results = (await store.commit([
        pending('world', alice!, 'a1'),
        { ...pending(dm, alice!, 'a2'), direct: [alice!, bob!] },
        pending('world', bob!, 'b1'),
        pending('world', alice!, 'a1', 'a retry with other text'),
        { ...pending(dm, bob!, 'b2'), direct: [alice!, bob!] },
      ])).map(committed);
      expect(results.map((r) => [r.message.conv, r.message.seq, r.duplicate])).toEqual([
        ['world', 1, false],
        [dm, 1, false],
        ['world', 2, false],
        ['world', 1, true],
        [dm, 2, false],
      ]);
      expect(results[3]!.message.text).toBe('a1');
      expect(results[1]!.created.map((c) => c.user)).toEqual([alice, bob]);
      expect(results[1]!.members).toEqual([alice!.id, bob!.id]);
      expect(results[0]!.members).toBeNull();
      expect(results[4]!.created).toEqual([]);
      await store.close();
    });

    it('moves every conversation of a batch to its last seq, and every sender to their last message of it', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      const dm = (a: UserRef, b: UserRef): PendingMessage['direct'] => [a, b];
      const ab = `dm:${alice!.id}:${bob!.id}`;
      const ac = `dm:${alice!.id}:${carol!.id}`;
      const bc = `dm:${bob!.id}:${carol!.id}`;
      await store.commit([
        { ...pending(ab, alice!, 'ab1'), direct: dm(alice!, bob!) },
        { ...pending(ac, carol!, 'ac1'), direct: dm(alice!, carol!) },
        { ...pending(bc, bob!, 'bc1'), direct: dm(bob!, carol!) },
        { ...pending(ab, bob!, 'ab2'), direct: dm(alice!, bob!) },
        pending('world', carol!, 'w1'),
        { ...pending(ac, carol!, 'ac2'), direct: dm(alice!, carol!) },
      ]);
      // The next batch numbers on from where the first left each conversation.
      const next = (await store.commit([pending(ab, alice!, 'ab3'), pending(ac, alice!, 'ac3'), pending(bc, carol!, 'bc2'), pending('world', bob!, 'w2')])).map(committed);
      expect(next.map((r) => [r.message.conv, r.message.seq])).toEqual([[ab, 3], [ac, 3], [bc, 2], ['world', 2]]);
      const positions = async (user: UserRef) =>
        Object.fromEntries((await store.conversationsOf(user)).map((c) => [c.id, [c.lastSeq, c.readSeq]]));
      expect(await positions(alice!)).toMatchObject({ [ab]: [3, 3], [ac]: [3, 3] });
      expect(await positions(bob!)).toMatchObject({ [ab]: [3, 2], [bc]: [2, 1], world: [2, 2] });
      expect(await positions(carol!)).toMatchObject({ [ac]: [3, 2], [bc]: [2, 2], world: [2, 1] });
      await store.close();
    });

    it('keeps messages, sequence numbers and read positions across a reopen', async () => {
      const { store, reopen } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      await store.commit([pending('world', alice!, 'm1'), pending('world', alice!, 'm2'), pending('world', alice!, 'm3')]);
      await store.markRead(bob!.id, 'world', 2);
      await store.close();

      const again = await reopen();
      const [next] = await again.commit([pending('world', bob!, 'm4')]);
      expect(committed(next).message.seq).toBe(4);
      const page = await again.page('world', 2);
      expect(page.messages.map((m) => m.seq)).toEqual([3, 4]);
      expect(page.hasMore).toBe(true);
      expect((await again.page('world', 2, 3)).messages.map((m) => m.seq)).toEqual([1, 2]);
      expect((await again.after('world', 1, 10)).map((m) => m.seq)).toEqual([2, 3, 4]);
      const [world] = await again.conversationsOf(bob!);
      // bob read to 2 and then sent 4 himself: his own message moves his read position.
      expect(world).toMatchObject({ id: 'world', lastSeq: 4, readSeq: 4, unread: 0, last: { seq: 4, sender: bob } });
      await again.close();
    });

    it('moves read positions forward only, never past the end, and counts only others’ messages as unread', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      await store.commit([pending('world', alice!, 'x1'), pending('world', bob!, 'x2'), pending('world', alice!, 'x3')]);
      expect(await store.markRead(bob!.id, 'world', 0)).toEqual({ readSeq: 2, unread: 1 });
      expect(await store.markRead(bob!.id, 'world', 99)).toEqual({ readSeq: 3, unread: 0 });
      expect(await store.markRead(bob!.id, 'world', 1)).toEqual({ readSeq: 3, unread: 0 });
      await store.close();
    });

    usersContract(open);
    messagesContract(open);
    filesContract(open);
    roomsContract(open);
  });
}
