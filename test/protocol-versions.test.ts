import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RoomApi } from '../src/client/rooms.ts';
import { WORLD, type ServerFrame } from '../src/protocol/index.ts';
import { rawSocket, registerUser } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

describe('protocol versions', () => {
  it('serves a version-1 client as before: world and DMs, and nothing of the rooms it belongs to', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const room = await new RoomApi(alice.api).create({ name: 'new things', visibility: 'private', invite: [bob.user.id] });
    const old = await rawSocket(server.url, bob.token);
    old.send(JSON.stringify({ type: 'hello', protocol: 1, cursors: { [room.id]: 0 } }));
    const welcome = (await old.next('welcome')) as Extract<ServerFrame, { type: 'welcome' }>;
    expect(welcome.protocol).toBe(1);
    expect(welcome.conversations.map((c) => c.kind)).toEqual(['world']);
    await old.next('synced');
    await alice.api.send(room.id, 'in the room');
    await new RoomApi(alice.api).update(room.id, { topic: 'news' });
    await alice.api.send(WORLD, 'in the world');
    const world = await old.next('message');
    expect(world).toMatchObject({ message: { conv: WORLD, text: 'in the world' } });
    // The world message was committed after the room's message and topic: had either been sent to
    // this connection, it would have arrived before it.
    expect(old.frames.map((f) => f.type).filter((type) => type !== 'presence')).toEqual([]);
    old.ws.close();
  });

  it('welcomes version 2 with rooms, and refuses any other version with PROTOCOL_UNSUPPORTED and 4002', async () => {
    const alice = await registerUser(server.url, 'alice');
    await new RoomApi(alice.api).create({ name: 'r', visibility: 'public' });
    const current = await rawSocket(server.url, alice.token);
    current.send(JSON.stringify({ type: 'hello', protocol: 2 }));
    const welcome = (await current.next('welcome')) as Extract<ServerFrame, { type: 'welcome' }>;
    expect(welcome.protocol).toBe(2);
    expect(welcome.conversations.map((c) => c.kind)).toEqual(['world', 'room']);
    current.ws.close();
    for (const protocol of [0, 3]) {
      const future = await rawSocket(server.url, alice.token);
      future.send(JSON.stringify({ type: 'hello', protocol }));
      expect(await future.next('error')).toMatchObject({ code: 'PROTOCOL_UNSUPPORTED' });
      expect((await future.closed).code).toBe(4002);
    }
  });
});
