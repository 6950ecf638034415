import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WORLD, dmId } from '../src/protocol/index.ts';
import { ParleyApi } from '../src/client/api.ts';
import { PASSWORD, connect, registerUser, waitFor, type Client } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const clients: Client[] = [];
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

async function open(api: ParleyApi) {
  const client = await connect(api);
  clients.push(client);
  return client;
}

describe('presence', () => {
  it('shows who is online on connect, then join and leave events; two tabs count once', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const watcher = await open(alice.api);
    const welcome = watcher.frames.find((f) => f.type === 'welcome') as unknown as { online: { name: string }[] };
    expect(welcome.online.map((u) => u.name)).toEqual(['alice']);

    const aboutBob = () => watcher.presence.filter((change) => change.user.id === bob.user.id);
    const bobTab1 = await open(bob.api);
    await waitFor(() => aboutBob().length === 1, 'bob joining');
    expect(aboutBob()[0]).toEqual({ user: bob.user, online: true });

    const bobTab2 = await open(bob.api);
    const bobWelcome = bobTab2.frames.find((f) => f.type === 'welcome') as unknown as { online: { name: string }[] };
    expect(bobWelcome.online.map((u) => u.name).sort()).toEqual(['alice', 'bob']);
    bobTab1.close();
    await waitFor(() => server.parley.openSockets() === 2, 'the server to handle the closed tab');
    // carol's arrival is announced in the same presence frame as anything marked before it, or a later one.
    const carol = await registerUser(server.url, 'carol');
    await open(carol.api);
    await waitFor(() => watcher.presence.some((change) => change.user.id === carol.user.id), 'carol joining');
    expect(aboutBob()).toHaveLength(1); // still online through the second tab

    bobTab2.close();
    await waitFor(() => aboutBob().length === 2, 'bob leaving');
    expect(aboutBob()[1]).toEqual({ user: bob.user, online: false });
  });
});

describe('unread counts and read positions', () => {
  it('counts unread messages per conversation, keeps them across logout and login, and clears them when read', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const aliceClient = await open(alice.api);
    const conv = dmId(alice.user.id, bob.user.id);
    for (let i = 0; i < 3; i++) await aliceClient.session.send(conv, `dm ${i}`);
    for (let i = 0; i < 2; i++) await aliceClient.session.send(WORLD, `world ${i}`);

    const unreadOf = async (api: ParleyApi) =>
      Object.fromEntries((await api.conversations()).conversations.map((c) => [c.id, c.unread]));
    expect(await unreadOf(bob.api)).toEqual({ [WORLD]: 2, [conv]: 3 });
    // The sender has read their own messages.
    expect(await unreadOf(alice.api)).toEqual({ [WORLD]: 0, [conv]: 0 });

    await bob.api.logout();
    const bobAgain = new ParleyApi(server.url);
    await bobAgain.login({ name: 'bob', password: PASSWORD });
    expect(await unreadOf(bobAgain)).toEqual({ [WORLD]: 2, [conv]: 3 });

    const bobClient = await open(bobAgain);
    const bobOtherDevice = await open(bobAgain);
    const welcome = bobClient.frames.find((f) => f.type === 'welcome') as unknown as {
      conversations: { id: string; unread: number; last?: { text: string } }[];
    };
    expect(welcome.conversations.find((c) => c.id === conv)).toMatchObject({ unread: 3, last: { text: 'dm 2' } });

    bobClient.session.markRead(conv, 2);
    await waitFor(() => bobOtherDevice.frames.some((f) => f.type === 'read'), 'the read position on the other device');
    expect(bobOtherDevice.frames.find((f) => f.type === 'read')).toMatchObject({ conv, seq: 2, unread: 1 });
    bobClient.session.markRead(conv, 3);
    bobClient.session.markRead(conv, 1); // never moves back
    await waitFor(() => bobOtherDevice.frames.filter((f) => f.type === 'read').length === 3, 'three read frames');
    expect(await unreadOf(bobAgain)).toEqual({ [WORLD]: 2, [conv]: 0 });
  });

  it('starts a new user with the world chat read, however long its history', async () => {
    const alice = await registerUser(server.url, 'alice');
    const aliceClient = await open(alice.api);
    await aliceClient.session.send(WORLD, 'before you came');
    const late = await registerUser(server.url, 'late');
    const [world] = (await late.api.conversations()).conversations;
    expect(world).toMatchObject({ id: WORLD, unread: 0, lastSeq: 1, readSeq: 1 });
    expect((await late.api.history(WORLD)).messages.map((m) => m.text)).toEqual(['before you came']);
  });
});
