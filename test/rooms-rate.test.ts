import { afterEach, describe, expect, it } from 'vitest';
import { RoomApi } from '../src/client/rooms.ts';
import { WORLD } from '../src/protocol/index.ts';
import { registerUser } from './support/clients.ts';
import { ManualClock } from './support/manual-clock.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
afterEach(async () => {
  await server.close();
});

async function person(name: string) {
  const registered = await registerUser(server.url, name);
  return { ...registered, rooms: new RoomApi(registered.api) };
}

/**
 * Every room change writes a line every member receives ("bob joined", "the room is now called
 * …"), so a loop of joins and leaves is a flood of messages like any other: it counts against the
 * sender's send budget (--send-rate/--send-burst), shared with their messages.
 */
describe('room changes', () => {
  it('take from the send budget: a join/leave loop is refused with RATE_LIMITED at the burst, changes nothing, and goes on as the budget refills', async () => {
    const clock = new ManualClock();
    server = await startTestServer({ clock, flags: ['--send-rate', '1', '--send-burst', '6'] });
    const alice = await person('alice');
    const room = await alice.rooms.create({ name: 'garden', visibility: 'public' });
    const bob = await person('bob');
    for (let i = 0; i < 3; i++) {
      await bob.rooms.join(room.id);
      await bob.rooms.leave(room.id);
    }
    await expect(bob.rooms.join(room.id)).rejects.toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfterMs: 1000 });
    expect((await alice.rooms.info(room.id)).memberCount).toBe(1);
    const lines = async () => (await alice.api.history(room.id, { limit: 100 })).messages.length;
    const before = await lines();
    for (let i = 0; i < 20; i++) await expect(bob.rooms.join(room.id)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(await lines()).toBe(before);
    // The same budget as messages: bob's sends are refused too, until it refills.
    await expect(bob.api.send(WORLD, 'hello')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await clock.advance(1000);
    await bob.rooms.join(room.id);
    expect((await alice.rooms.info(room.id)).memberCount).toBe(2);
    await expect(bob.rooms.leave(room.id)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('every kind of change counts: create, rename, topic, invite, remove, roles', async () => {
    const clock = new ManualClock();
    server = await startTestServer({ clock, flags: ['--send-rate', '1', '--send-burst', '6'] });
    const alice = await person('alice');
    const bob = await person('bob');
    const room = await alice.rooms.create({ name: 'r', visibility: 'private' }); // 1
    await alice.rooms.update(room.id, { name: 'r2' }); // 2
    await alice.rooms.update(room.id, { topic: 't' }); // 3
    await alice.rooms.invite(room.id, [bob.user.id]); // 4
    await alice.rooms.setRole(room.id, bob.user.id, 'admin'); // 5
    await alice.rooms.remove(room.id, bob.user.id); // 6
    await expect(alice.rooms.create({ name: 'one more', visibility: 'public' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(alice.rooms.update(room.id, { topic: 'again' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(alice.rooms.invite(room.id, [bob.user.id])).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(await alice.rooms.info(room.id)).toMatchObject({ name: 'r2', topic: 't', memberCount: 1 });
    // Reading is not a change: the directory, details and members stay open.
    expect((await alice.rooms.members(room.id)).members).toHaveLength(1);
    expect((await alice.rooms.directory()).rooms).toEqual([]);
  });
});
