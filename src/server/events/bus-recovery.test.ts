import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { scratchDatabase } from '../../../test/support/scratch.ts';
import { dmId, type UserRef } from '../../protocol/index.ts';
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts';
import { storeMessageSource } from './bus-contract.ts';
import { BusRecovery } from './bus-recovery.ts';
import type { DomainEvent } from './events.ts';
import { OrderedDelivery } from './ordered-delivery.ts';

const quiet = { error: () => {}, info: () => {} };
const ROOM = 'room:AAAAAAAAAAAA';
const OTHER_ROOM = 'room:CCCCCCCCCCCC';

/**
 * BusRecovery on a real store, without Redis: what the bus lost is committed to storage and never
 * published, as in an outage; the recovery must find it all for the users connected here, and
 * deliver nothing this node had already delivered.
 */
describe('BusRecovery', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function node() {
    const store = new SqliteStore(scratchDatabase('recovery'));
    cleanups.push(() => store.close());
    const users: UserRef[] = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const created = await store.createUser({ name, nameKey: name, passwordHash: 'h', createdAt: 1 });
      users.push({ id: created!.id, name });
    }
    const [alice, bob, carol] = users as [UserRef, UserRef, UserRef];
    const clock = new ManualClock(1_000_000);
    const delivered: DomainEvent[] = [];
    const delivery = new OrderedDelivery(storeMessageSource(store), (event) => delivered.push(event), clock, quiet);
    cleanups.push(() => delivery.stop());
    const local = [alice];
    // Before the node started: a room Alice is in (her client got it at hello).
    const room = await store.rooms.create({ conv: ROOM, name: 'Book club', nameKey: 'book club', topic: '', visibility: 'public', owner: carol, ts: clock.now() }, [alice]);
    // And one she is not in, with Bob.
    await store.rooms.create({ conv: OTHER_ROOM, name: 'Knitting', nameKey: 'knitting', topic: '', visibility: 'public', owner: carol, ts: clock.now() }, [bob]);
    const recovery = new BusRecovery(
      delivery,
      {
        localUsers: () => local,
        conversationsOf: (user) => store.conversationsOf(user),
        membershipsChangedSince: (userIds, rev) => store.membershipsChangedSince(userIds, rev),
        roomMembersChangedSince: (convs, rev) => store.rooms.membersChangedSince(convs, rev),
        departuresOf: (userIds, rev) => store.rooms.departuresOf(userIds, rev),
        filesChangedSince: (userId, rev, limit) => store.files.changedSince(userId, rev, limit),
      },
      quiet,
      await store.lastRev(),
    );
    /** Commits a message, and delivers it here as the bus would have (`live`) or not (lost). */
    const send = async (conv: string, from: UserRef, text: string, live: boolean, extra = {}) => {
      const [result] = await store.commit([{ conv, sender: from, clientId: text, text, ts: clock.now(), ...extra }]);
      if (!result?.ok) throw new Error('commit failed');
      if (live) delivery.accept({ type: 'message', conv, seq: result.message.seq, convKind: result.convKind, audience: { users: [alice.id] }, message: result.message });
      return result;
    };
    // The room's messages reached this node live.
    for (const message of room.messages) delivery.accept({ type: 'message', conv: ROOM, seq: message.seq, convKind: 'room', audience: { users: [alice.id] }, message });
    delivered.length = 0;
    return { store, clock, delivered, delivery, recovery, alice, bob, carol, send };
  }

  it('after its own link came back: every message, conversation, room change and file card Alice missed, once, and nothing she had', async () => {
    const { store, clock, delivered, recovery, alice, bob, carol, send } = await node();
    // Before the outage: a world message delivered live.
    await send('world', bob, 'before', true);
    delivered.length = 0;

    await clock.advance(10_000);
    recovery.lost();
    await clock.advance(5000);
    await send('world', bob, 'lost in the world', false);
    // Bob writes to Alice for the first time, with a file: a DM this node has never seen.
    const dm = dmId(alice.id, bob.id);
    const offer = await send(dm, bob, 'a file for you', false, {
      direct: alice.id < bob.id ? [alice, bob] : [bob, alice],
      file: { id: 'BBBBBBBBBBBBBBBBBBBBBB', recipient: alice, name: 'notes.txt', size: 3, type: 'text/plain', sha256: 'a'.repeat(64), expiresAt: clock.now() + 60_000 },
    });
    const accepted = await store.files.update(offer.message.file!.id, ['offered'], { state: 'accepted', decidedAt: clock.now() });
    const renamed = await store.rooms.update(ROOM, carol, { name: { name: 'Poetry club', nameKey: 'poetry club' } }, clock.now());
    if (typeof renamed === 'string') throw new Error(renamed);
    // She joins the other room: her membership and the room's new member count share one rev.
    const joined = await store.rooms.join(OTHER_ROOM, alice, clock.now());
    if (typeof joined === 'string') throw new Error(joined);

    await recovery.resumed({ since: clock.now() - 5000, rev: null });
    const summary = (event: DomainEvent) => {
      switch (event.type) {
        case 'message':
          return `message ${event.conv} ${event.seq} ${event.message.text}`;
        case 'membership':
          return `membership ${event.conv} ${event.user.name} ${event.summary ? 'told' : ''}`;
        case 'room':
          return `room ${event.room.name} ${event.audience && 'users' in event.audience ? event.audience.users.join(',') : 'everyone'}`;
        case 'file':
          return `file ${event.file.state}`;
        default:
          return event.type;
      }
    };
    const got = delivered.map(summary);
    // Alice hears of the new DM and the room's new name before the messages, as live; messages in order per conversation; then the card.
    expect(got.slice(0, 4).sort()).toEqual(
      [`membership ${dm} alice told`, `membership ${OTHER_ROOM} alice told`, `room Poetry club ${alice.id}`, `room Knitting ${alice.id}`].sort(),
    );
    expect(joined.members[0]!.rev).toBe(joined.room.rev);
    expect(got.filter((line) => line.startsWith('message')).sort()).toEqual(
      [
        'message world 2 lost in the world',
        `message ${dm} 1 a file for you`,
        ...renamed.messages.map((message) => `message ${ROOM} ${message.seq} ${message.text}`),
        ...joined.messages.map((message) => `message ${OTHER_ROOM} ${message.seq} ${message.text}`),
      ].sort(),
    );
    expect(got.at(-1)).toBe('file accepted');
    expect(got).toHaveLength(4 + 2 + renamed.messages.length + joined.messages.length + 1);
    expect(accepted).not.toBeNull();

    // A second pass (another node's notice) finds nothing new.
    delivered.length = 0;
    await recovery.resumed({ since: clock.now() - 5000, rev: 1 });
    expect(delivered).toEqual([]);
  });

  it('after its own link came back: where every member of Alice’s rooms changed meanwhile stands now, and her own removal; nothing delivered live again', async () => {
    const { store, clock, delivered, delivery, recovery, alice, bob, carol } = await node();
    const created = await store.createUser({ name: 'dave', nameKey: 'dave', passwordHash: 'h', createdAt: 1 });
    const dave: UserRef = { id: created!.id, name: 'dave' };
    const done = <T,>(result: T | string): T => {
      if (typeof result === 'string') throw new Error(result);
      return result;
    };
    recovery.lost();
    await clock.advance(1000);
    // In her room: Dave joins and is made an admin (that one reached this node live), Bob joins and leaves.
    done(await store.rooms.join(ROOM, dave, clock.now()));
    const promoted = done(await store.rooms.setRole(ROOM, carol, dave, 'admin', clock.now()));
    const live = promoted.members[0]!;
    delivery.accept({ type: 'membership', rev: live.rev, conv: ROOM, convKind: 'room', audience: { users: [alice.id] }, user: dave, role: 'admin', memberCount: promoted.room.memberCount, by: carol });
    done(await store.rooms.join(ROOM, bob, clock.now()));
    const left = done(await store.rooms.leave(ROOM, bob, clock.now()));
    // Alice joins the other room, and Carol removes her from it: all she must hear is that she is out.
    done(await store.rooms.join(OTHER_ROOM, alice, clock.now()));
    const removed = done(await store.rooms.remove(OTHER_ROOM, carol, alice, clock.now()));
    delivered.length = 0;

    await recovery.resumed({ since: clock.now() - 1000, rev: null });
    const members = delivered.flatMap((event) =>
      event.type === 'membership' ? [[event.conv, event.user.name, event.role, event.by.name, event.rev, event.memberCount, 'users' in event.audience ? event.audience.users : 'everyone', !!event.summary]] : [],
    );
    expect(members).toEqual([
      [ROOM, 'bob', null, 'bob', left.members[0]!.rev, 3, [alice.id], false],
      [OTHER_ROOM, 'alice', null, 'carol', removed.members[0]!.rev, 2, [alice.id], false],
    ]);
    // As live, who joined or left before the room's details, and those before its messages.
    const kinds = delivered.map((event) => event.type);
    expect(kinds.slice(0, 3)).toEqual(['membership', 'membership', 'room']);
    expect(delivered.find((event) => event.type === 'room')).toMatchObject({ room: { id: ROOM, memberCount: 3, rev: left.room.rev } });
    expect(kinds.slice(3).every((kind) => kind === 'message')).toBe(true);

    delivered.length = 0;
    await recovery.resumed({ since: clock.now() - 1000, rev: 1 });
    expect(delivered).toEqual([]);
  });

  it('after another node’s notice: only what that node could not publish, from its rev on', async () => {
    const { store, clock, delivered, recovery, carol, send } = await node();
    await send('world', carol, 'seen', true);
    delivered.length = 0;
    const lastRev = await store.lastRev();
    const renamed = await store.rooms.update(ROOM, carol, { topic: 'haiku' }, clock.now());
    if (typeof renamed === 'string') throw new Error(renamed);
    await recovery.resumed({ since: clock.now(), rev: lastRev + 1 });
    expect(delivered.filter((event) => event.type === 'room').map((event) => event.type === 'room' && event.room.topic)).toEqual(['haiku']);
    expect(delivered.filter((event) => event.type === 'membership')).toEqual([]);
  });
});
