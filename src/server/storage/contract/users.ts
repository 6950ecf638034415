import { describe, expect, it } from 'vitest';
import { withUsers, type OpenStore } from './support.ts';

/** Users and sessions. */
export function usersContract(open: OpenStore): void {
  describe('users and sessions', () => {
    it('finds users by id, name key and exact name, and by the start of their name key, in order, page by page', async () => {
      const { store } = await open();
      const [alice] = await withUsers(store, 'alice', 'alan', 'bob', 'Albert');
      expect(await store.userById(alice!.id)).toEqual(alice);
      expect(await store.userById(99_999)).toBeNull();
      expect(await store.userByNameKey('alice')).toMatchObject({ id: alice!.id, name: 'alice', nameKey: 'alice', passwordHash: 'h' });
      expect(await store.userByName('Albert')).toMatchObject({ name: 'Albert' });
      expect((await store.usersByPrefix('al', { limit: 10 })).map((u) => u.name)).toEqual(['alan', 'Albert', 'alice']);
      expect((await store.usersByPrefix('al', { limit: 2, after: 'alan' })).map((u) => u.name)).toEqual(['Albert', 'alice']);
      expect(await store.usersByPrefix('zed', { limit: 10 })).toEqual([]);
      expect(await store.usersByPrefix('', { limit: 10 })).toHaveLength(4);
      await store.close();
    });

    it('makes every new user a member of the world chat, read up to its end', async () => {
      const { store } = await open();
      const [alice] = await withUsers(store, 'alice');
      await store.commit([{ conv: 'world', sender: alice!, clientId: 'c1', text: 'hi', ts: 1 }]);
      const [bob] = await withUsers(store, 'bob');
      expect(await store.membership(bob!.id, 'world')).toEqual({ conv: 'world', kind: 'world', role: 'member', readSeq: 1 });
      expect(await store.conversationState('world')).toEqual({ kind: 'world', lastSeq: 1, members: null });
      await store.close();
    });

    it('stores sessions by token hash until deleted, one by one or all of a user’s', async () => {
      const { store } = await open();
      const [alice] = await withUsers(store, 'alice');
      const [a, b] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
      await store.createSession(a, { userId: alice!.id, createdAt: 1, expiresAt: 100 });
      await store.createSession(b, { userId: alice!.id, createdAt: 1, expiresAt: 200 });
      expect(await store.sessionByTokenHash(a)).toEqual({ userId: alice!.id, expiresAt: 100 });
      await store.deleteSession(a);
      expect(await store.sessionByTokenHash(a)).toBeNull();
      expect(await store.sessionByTokenHash(b)).not.toBeNull();
      await store.deleteSessionsOf(alice!.id);
      expect(await store.sessionByTokenHash(b)).toBeNull();
      await store.close();
    });

    it('says which of many token hashes are live sessions: neither deleted, nor expired, nor unknown', async () => {
      const { store } = await open();
      const [alice] = await withUsers(store, 'alice');
      // More than one statement's worth, so the chunks of each store are crossed.
      const hashes = Array.from({ length: 1_203 }, (_, n) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
      for (const [n, hash] of hashes.entries()) {
        if (n % 3 !== 2) await store.createSession(hash, { userId: alice!.id, createdAt: 1, expiresAt: n % 3 === 0 ? 1_000 : 10 });
      }
      await store.deleteSession(hashes[3]!);
      const live = await store.liveSessionsAmong(hashes, 500);
      const expected = hashes.filter((_, n) => n % 3 === 0 && n !== 3).map((hash) => hash.toString('hex'));
      expect([...live].sort()).toEqual(expected.sort());
      expect(await store.liveSessionsAmong([], 500)).toEqual(new Set());
      await store.close();
    });

    it('changes a password and ends every other session of the user in one step, keeping the one that asked', async () => {
      const { store, reopen } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      const [kept, other, third, bobs] = [1, 2, 3, 4].map((n) => Buffer.alloc(32, n));
      for (const [hash, user] of [[kept!, alice!], [other!, alice!], [third!, alice!], [bobs!, bob!]] as const) {
        await store.createSession(hash, { userId: user.id, createdAt: 1, expiresAt: 100 });
      }
      expect(await store.changePassword(alice!.id, 'new-hash', kept!)).toBe(true);
      expect(await store.sessionByTokenHash(kept!)).toEqual({ userId: alice!.id, expiresAt: 100 });
      expect(await store.sessionByTokenHash(other!)).toBeNull();
      expect(await store.sessionByTokenHash(third!)).toBeNull();
      expect(await store.sessionByTokenHash(bobs!)).toEqual({ userId: bob!.id, expiresAt: 100 });
      expect(await store.userByNameKey('alice')).toMatchObject({ passwordHash: 'new-hash' });
      expect(await store.userByNameKey('bob')).toMatchObject({ passwordHash: 'h' });
      expect(await store.changePassword(99_999, 'x', kept!)).toBe(false);
      await store.close();
      const again = await reopen();
      expect(await again.userByNameKey('alice')).toMatchObject({ passwordHash: 'new-hash' });
      await again.close();
    });
  });
}
