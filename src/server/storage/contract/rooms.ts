import { describe, expect, it } from 'vitest';
import type { UserRef } from '../../../protocol/index.ts';
import type { RoomCommit, RoomResult } from '../room-records.ts';
import type { Store } from '../store.ts';
import { committed, pending, withUsers, type OpenStore } from './support.ts';

const CONV = 'room:AAAAAAAAAAAA';

function done(result: RoomResult): RoomCommit {
  if (typeof result === 'string') throw new Error(`refused: ${result}`);
  return result;
}

async function room(store: Store, owner: UserRef, invited: UserRef[] = [], visibility: 'public' | 'private' = 'private') {
  return store.rooms.create({ conv: CONV, name: 'Book club', nameKey: 'book club', topic: 'ch. 3', visibility, owner, ts: 10 }, invited);
}

const systemKinds = (commit: RoomCommit) => commit.messages.map((m) => m.system?.kind);

/** Rooms and memberships: every change in one transaction, with its revs, system messages and members. */
export function roomsContract(open: OpenStore): void {
  describe('rooms', () => {
    it('creates a room with its owner and invited members, each with a rev, and its first system messages in seq order', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      const created = await room(store, alice!, [bob!, carol!, bob!]);
      expect(created.room).toMatchObject({ id: CONV, name: 'Book club', topic: 'ch. 3', visibility: 'private', memberCount: 3 });
      expect(created.members.map((m) => [m.user.name, m.change, m.role])).toEqual([
        ['alice', 'joined', 'owner'],
        ['bob', 'joined', 'member'],
        ['carol', 'joined', 'member'],
      ]);
      const revs = created.members.map((m) => m.rev);
      expect(revs).toEqual([...revs].sort((a, b) => a - b));
      expect(created.room.rev).toBe(revs.at(-1));
      expect(created.messages.map((m) => [m.seq, m.text, m.sender.name])).toEqual([
        [1, 'alice created the room Book club', 'alice'],
        [2, 'alice invited bob', 'alice'],
        [3, 'alice invited carol', 'alice'],
      ]);
      expect(created.memberIds.sort()).toEqual([alice!.id, bob!.id, carol!.id].sort());
      expect((await store.page(CONV, 10)).messages.map((m) => m.system?.kind)).toEqual(['created', 'invited', 'invited']);
      expect(await store.rooms.info(CONV)).toEqual(created.room);
      expect(await store.rooms.info('room:BBBBBBBBBBBB')).toBeNull();
      expect(await store.membership(bob!.id, CONV)).toMatchObject({ kind: 'room', role: 'member' });
      await store.close();
    });

    it('lists users’ memberships changed after a rev, and tells the last rev handed out', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      const before = await store.lastRev();
      const created = await room(store, alice!, [bob!]);
      const revOf = (user: UserRef) => created.members.find((m) => m.user.id === user.id)!.rev;
      const bobs = revOf(bob!);
      expect(await store.lastRev()).toBe(created.room.rev);
      expect(await store.membershipsChangedSince([bob!.id], before)).toEqual([{ userId: bob!.id, conv: CONV, rev: bobs }]);
      expect(await store.membershipsChangedSince([bob!.id], bobs)).toEqual([]);
      const promoted = done(await store.rooms.setRole(CONV, alice!, bob!, 'admin', 20));
      expect(await store.membershipsChangedSince([bob!.id], bobs)).toEqual([{ userId: bob!.id, conv: CONV, rev: promoted.members[0]!.rev }]);
      expect(await store.lastRev()).toBe(promoted.members[0]!.rev);
      // Several users in one read, ascending by rev across them; a user with none adds none; no users, nothing.
      const other = await store.rooms.create({ conv: 'room:CCCCCCCCCCCC', name: 'Chess', nameKey: 'chess', topic: '', visibility: 'private', owner: carol!, ts: 30 }, [bob!]);
      const carols = other.members.find((m) => m.user.id === carol!.id)!.rev;
      const bobsOther = other.members.find((m) => m.user.id === bob!.id)!.rev;
      expect(await store.membershipsChangedSince([carol!.id, alice!.id, bob!.id], before)).toEqual([
        { userId: alice!.id, conv: CONV, rev: revOf(alice!) },
        { userId: bob!.id, conv: CONV, rev: promoted.members[0]!.rev },
        { userId: carol!.id, conv: other.room.id, rev: carols },
        { userId: bob!.id, conv: other.room.id, rev: bobsOther },
      ]);
      expect(await store.membershipsChangedSince([carol!.id, bob!.id], promoted.members[0]!.rev)).toEqual([
        { userId: carol!.id, conv: other.room.id, rev: carols },
        { userId: bob!.id, conv: other.room.id, rev: bobsOther },
      ]);
      expect(await store.membershipsChangedSince([], before)).toEqual([]);
      await store.close();
    });

    it('lets anyone join a public room once, and no one join a private one', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      await room(store, alice!, [], 'public');
      const joined = done(await store.rooms.join(CONV, bob!, 20));
      expect(systemKinds(joined)).toEqual(['joined']);
      expect(joined.room.memberCount).toBe(2);
      expect(done(await store.rooms.join(CONV, bob!, 21)).messages).toEqual([]);
      await store.rooms.update(CONV, alice!, { visibility: 'private' }, 22);
      const [carol] = await withUsers(store, 'carol');
      expect(await store.rooms.join(CONV, carol!, 23)).toBe('not-found');
      expect(await store.rooms.join('room:BBBBBBBBBBBB', carol!, 23)).toBe('not-found');
      await store.close();
    });

    it('lets a member leave, and hands an owner’s room to the longest-standing admin, else member', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      await room(store, alice!, [bob!, carol!]);
      done(await store.rooms.setRole(CONV, alice!, carol!, 'admin', 11));
      const left = done(await store.rooms.leave(CONV, alice!, 12));
      expect(left.members.map((m) => [m.user.name, m.change, m.role])).toEqual([
        ['alice', 'left', null],
        ['carol', 'role', 'owner'],
      ]);
      expect(systemKinds(left)).toEqual(['left', 'role']);
      expect(left.memberIds.sort()).toEqual([bob!.id, carol!.id].sort());
      expect(await store.membership(alice!.id, CONV)).toBeNull();
      expect(await store.rooms.leave(CONV, alice!, 13)).toBe('not-found');
      await store.close();
    });

    it('invites only people not yet members, and only at a member’s request', async () => {
      const { store } = await open();
      const [alice, bob, carol, dave] = await withUsers(store, 'alice', 'bob', 'carol', 'dave');
      await room(store, alice!, [bob!]);
      const invited = done(await store.rooms.invite(CONV, bob!, [alice!, carol!], 20));
      expect(invited.members.map((m) => m.user.name)).toEqual(['carol']);
      expect(invited.messages.map((m) => m.text)).toEqual(['bob invited carol']);
      expect(await store.rooms.invite(CONV, dave!, [dave!], 21)).toBe('not-found');
      await store.close();
    });

    it('removes members by the role rules: not-found for a stranger or non-member, forbidden for a role that may not', async () => {
      const { store } = await open();
      const [alice, bob, carol, dave] = await withUsers(store, 'alice', 'bob', 'carol', 'dave');
      await room(store, alice!, [bob!, carol!]);
      done(await store.rooms.setRole(CONV, alice!, bob!, 'admin', 11));
      expect(await store.rooms.remove(CONV, carol!, bob!, 12)).toBe('forbidden');
      expect(await store.rooms.remove(CONV, bob!, alice!, 12)).toBe('forbidden');
      expect(await store.rooms.remove(CONV, dave!, carol!, 12)).toBe('not-found');
      expect(await store.rooms.remove(CONV, alice!, dave!, 12)).toBe('not-found');
      const removed = done(await store.rooms.remove(CONV, bob!, carol!, 13));
      expect(removed.members).toEqual([{ user: carol, change: 'left', role: null, rev: expect.any(Number) }]);
      expect(removed.messages.map((m) => m.system)).toEqual([{ kind: 'removed', user: carol }]);
      expect(removed.room.memberCount).toBe(2);
      expect(await store.commit([pending(CONV, carol!, 'still here?')])).toEqual([{ ok: false, reason: 'not-member' }]);
      await store.close();
    });

    it('tells where every member of a room changed after a rev stands now, departures (with who removed them) included, and a user’s own departures', async () => {
      const { store } = await open();
      const [alice, bob, carol, dave] = await withUsers(store, 'alice', 'bob', 'carol', 'dave');
      await room(store, alice!, [bob!, carol!], 'public');
      const OTHER = 'room:BBBBBBBBBBBB';
      await store.rooms.create({ conv: OTHER, name: 'Other', nameKey: 'other', topic: '', visibility: 'public', owner: dave!, ts: 10 }, [bob!]);
      const since = await store.lastRev();
      expect(await store.rooms.membersChangedSince([CONV, OTHER], since)).toEqual([]);
      const joined = done(await store.rooms.join(CONV, dave!, 20)).members[0]!.rev;
      const promoted = done(await store.rooms.setRole(CONV, alice!, bob!, 'admin', 21)).members[0]!.rev;
      const removed = done(await store.rooms.remove(CONV, bob!, carol!, 22)).members[0]!.rev;
      const left = done(await store.rooms.leave(OTHER, bob!, 23)).members[0]!.rev;
      const count = (await store.rooms.info(CONV))!.memberCount;
      expect(count).toBe(3);
      expect(await store.rooms.membersChangedSince([CONV], since)).toEqual([
        { conv: CONV, user: dave, role: 'member', rev: joined, by: dave, memberCount: count },
        { conv: CONV, user: bob, role: 'admin', rev: promoted, by: bob, memberCount: count },
        { conv: CONV, user: carol, role: null, rev: removed, by: bob, memberCount: count },
      ]);
      expect((await store.rooms.membersChangedSince([CONV, OTHER], promoted)).map((m) => [m.user.name, m.role, m.by.name, m.memberCount])).toEqual([
        ['carol', null, 'bob', 3],
        ['bob', null, 'bob', 1],
      ]);
      expect(await store.rooms.membersChangedSince([], since)).toEqual([]);
      expect(await store.rooms.departuresOf([carol!.id], since)).toEqual([{ conv: CONV, user: carol, role: null, rev: removed, by: bob, memberCount: count }]);
      expect(await store.rooms.departuresOf([carol!.id], removed)).toEqual([]);
      // Several users in one read, ascending by rev; none, nothing.
      expect((await store.rooms.departuresOf([bob!.id, carol!.id], since)).map((m) => [m.user.name, m.conv])).toEqual([['carol', CONV], ['bob', OTHER]]);
      expect(await store.rooms.departuresOf([], since)).toEqual([]);
      // Back in: the departure is gone, the membership row tells where she stands.
      const back = done(await store.rooms.join(CONV, carol!, 24)).members[0]!.rev;
      expect(await store.rooms.departuresOf([carol!.id], since)).toEqual([]);
      expect((await store.rooms.membersChangedSince([CONV], removed)).map((m) => [m.user.name, m.role, m.rev])).toEqual([['carol', 'member', back]]);
      await store.close();
    });

    it('changes details only for the owner and admins, one rev and system message per field that really changed', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      const created = await room(store, alice!, [bob!]);
      expect(await store.rooms.update(CONV, bob!, { topic: 'mine' }, 20)).toBe('forbidden');
      const changed = done(await store.rooms.update(CONV, alice!, { name: { name: 'Readers', nameKey: 'readers' }, topic: 'ch. 3', visibility: 'public' }, 21));
      expect(systemKinds(changed)).toEqual(['renamed', 'visibility']);
      expect(changed.detailsRev).toBeGreaterThan(created.room.rev);
      expect(changed.room).toMatchObject({ name: 'Readers', visibility: 'public', rev: changed.detailsRev });
      expect(done(await store.rooms.update(CONV, alice!, { topic: 'ch. 3' }, 22)).detailsRev).toBeNull();
      await store.close();
    });

    it('names and unnames admins at the owner’s request only', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      await room(store, alice!, [bob!, carol!]);
      expect(await store.rooms.setRole(CONV, bob!, carol!, 'admin', 11)).toBe('forbidden');
      expect(await store.rooms.setRole(CONV, alice!, alice!, 'member', 11)).toBe('forbidden');
      const named = done(await store.rooms.setRole(CONV, alice!, bob!, 'admin', 12));
      expect(named.members.map((m) => [m.user.name, m.change, m.role])).toEqual([['bob', 'role', 'admin']]);
      expect(done(await store.rooms.setRole(CONV, alice!, bob!, 'admin', 13)).members).toEqual([]);
      expect((await store.membership(bob!.id, CONV))!.role).toBe('admin');
      await store.close();
    });

    it('lists public rooms by name prefix with whether the user joined, and members by name, page by page', async () => {
      const { store } = await open();
      const [alice, bob] = await withUsers(store, 'alice', 'bob');
      for (const [i, name] of ['Bravo', 'alpha', 'Charlie'].entries()) {
        await store.rooms.create({ conv: `room:AAAAAAAAAAA${i}`, name, nameKey: name.toLowerCase(), topic: '', visibility: 'public', owner: alice!, ts: 1 }, []);
      }
      await store.rooms.create({ conv: 'room:PPPPPPPPPPPP', name: 'Bprivate', nameKey: 'bprivate', topic: '', visibility: 'private', owner: alice!, ts: 1 }, [bob!]);
      const page = await store.rooms.directory(bob!.id, { prefix: '', limit: 2 });
      expect(page.map((r) => [r.name, r.joined])).toEqual([['alpha', false], ['Bravo', false]]);
      const next = await store.rooms.directory(bob!.id, { prefix: '', limit: 2, after: { nameKey: page[1]!.nameKey, id: page[1]!.id } });
      expect(next.map((r) => r.name)).toEqual(['Charlie']);
      expect((await store.rooms.directory(alice!.id, { prefix: 'b', limit: 10 })).map((r) => [r.name, r.joined])).toEqual([['Bravo', true]]);
      const members = await store.rooms.members('room:PPPPPPPPPPPP', { limit: 1 });
      expect(members).toEqual([{ user: alice, role: 'owner', nameKey: 'alice' }]);
      expect(await store.rooms.members('room:PPPPPPPPPPPP', { limit: 5, after: 'alice' })).toEqual([{ user: bob, role: 'member', nameKey: 'bob' }]);
      await store.close();
    });

    it('reads a message’s audience from the memberships in the same commit, before and after a change', async () => {
      const { store } = await open();
      const [alice, bob, carol] = await withUsers(store, 'alice', 'bob', 'carol');
      await room(store, alice!, [bob!]);
      const before = committed((await store.commit([pending(CONV, alice!, 'm1')]))[0]);
      expect([...before.members!].sort()).toEqual([alice!.id, bob!.id].sort());
      done(await store.rooms.invite(CONV, alice!, [carol!], 20));
      done(await store.rooms.remove(CONV, alice!, bob!, 21));
      const after = committed((await store.commit([pending(CONV, alice!, 'm2')]))[0]);
      expect([...after.members!].sort()).toEqual([alice!.id, carol!.id].sort());
      expect(after.convKind).toBe('room');
      await store.close();
    });
  });
}
