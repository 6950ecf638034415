import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileApi } from '../src/client/files.ts';
import { RoomApi } from '../src/client/rooms.ts';
import { WORLD, type Message } from '../src/protocol/index.ts';
import { connect, deliveredSoFar, registerUser, waitFor, type Client } from './support/clients.ts';
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

async function person(name: string, options: { online?: boolean } = {}) {
  const registered = await registerUser(server.url, name);
  const rooms = new RoomApi(registered.api);
  const tabs: Client[] = [];
  const open = async () => {
    const client = await connect(registered.api);
    clients.push(client);
    tabs.push(client);
    return client;
  };
  if (options.online !== false) await open();
  return { ...registered, rooms, tabs, open };
}

const texts = (messages: Message[], conv: string) => messages.filter((m) => m.conv === conv).map((m) => m.text);

describe('a private room', () => {
  it('is invisible to someone not invited: history, live messages, members, details, sends, joins and files are "not found"', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const carol = await person('carol');
    const dave = await person('dave');
    const room = await alice.rooms.create({ name: 'Book club 读书会', topic: 'Chapter 3', visibility: 'private', invite: [bob.user.id, carol.user.id] });
    expect(room).toMatchObject({ kind: 'room', role: 'owner', room: { name: 'Book club 读书会', topic: 'Chapter 3', visibility: 'private', memberCount: 3 } });
    const conv = room.id;
    expect(conv).toMatch(/^room:[A-Za-z0-9]{12}$/);
    await alice.tabs[0]!.session.send(conv, 'welcome, both of you');
    await waitFor(() => texts(bob.tabs[0]!.messages, conv).includes('welcome, both of you'), 'the message at bob');
    await waitFor(() => texts(carol.tabs[0]!.messages, conv).includes('welcome, both of you'), 'the message at carol');

    await expect(dave.api.history(conv)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(dave.tabs[0]!.session.history(conv)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(dave.tabs[0]!.session.send(conv, 'let me in')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(dave.api.send(conv, 'let me in')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(dave.rooms.members(conv)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(dave.rooms.info(conv)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(dave.rooms.join(conv)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(dave.rooms.invite(conv, [dave.user.id])).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(dave.rooms.update(conv, { name: 'mine now' })).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    // Files go in direct conversations only: a member is told so, a stranger that there is nothing there.
    const offer = { conv, clientId: 'f1', name: 'a.txt', size: 1, sha256: 'a'.repeat(64) };
    await expect(new FileApi(alice.api).offer(offer)).rejects.toMatchObject({ code: 'FILE_DM_ONLY', status: 400 });
    await expect(new FileApi(dave.api).offer(offer)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(await new FileApi(dave.api).list({ conv, state: 'all' })).toEqual([]);
    expect((await dave.api.conversations()).conversations.map((c) => c.id)).toEqual([WORLD]);
    await deliveredSoFar(alice.api, [dave.tabs[0]!]);
    expect(dave.tabs[0]!.messages.filter((m) => m.conv === conv)).toEqual([]);
    expect(dave.tabs[0]!.frames.filter((f) => f.type === 'member' || f.type === 'conversation')).toEqual([]);
  });

  it('tells invited members of the room live, and records the creation and invitations as system messages in order with the chat', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const room = await alice.rooms.create({ name: 'plans', visibility: 'private', invite: [bob.user.id] });
    await waitFor(() => bob.tabs[0]!.frames.some((f) => f.type === 'conversation' && f.id === room.id), 'the room at bob');
    expect(bob.tabs[0]!.frames.find((f) => f.type === 'conversation')).toMatchObject({ kind: 'room', role: 'member', room: { name: 'plans' } });
    await bob.tabs[0]!.session.send(room.id, 'thanks for having me');
    await alice.rooms.update(room.id, { topic: 'Friday' });
    const { messages } = await bob.api.history(room.id);
    expect(messages.map((m) => [m.seq, m.system?.kind ?? null, m.text])).toEqual([
      [1, 'created', 'alice created the room plans'],
      [2, 'invited', 'alice invited bob'],
      [3, null, 'thanks for having me'],
      [4, 'topic', 'alice set the topic: Friday'],
    ]);
    expect(messages[1]).toMatchObject({ sender: { name: 'alice' }, system: { kind: 'invited', user: { id: bob.user.id, name: 'bob' } } });
    // System messages are never unread.
    const [summary] = (await alice.api.conversations()).conversations.filter((c) => c.id === room.id);
    expect(summary).toMatchObject({ lastSeq: 4, unread: 1 });
  });

  it('stops sending to a member who leaves, at once and on every open connection, live and on catch-up', async () => {
    const alice = await person('alice');
    const carol = await person('carol');
    const carolSecondTab = await carol.open();
    const room = await alice.rooms.create({ name: 'team', visibility: 'private', invite: [carol.user.id] });
    await alice.tabs[0]!.session.send(room.id, 'before');
    for (const tab of carol.tabs) await waitFor(() => texts(tab.messages, room.id).includes('before'), 'the first message on each tab');

    await carol.rooms.leave(room.id);
    for (const tab of carol.tabs) {
      await waitFor(() => tab.frames.some((f) => f.type === 'member' && f.role === null), 'the departure on each tab');
      expect(tab.frames.find((f) => f.type === 'member' && f.role === null)).toMatchObject({ conv: room.id, user: { id: carol.user.id } });
    }
    await alice.tabs[0]!.session.send(room.id, 'after');
    await waitFor(() => texts(alice.tabs[0]!.messages, room.id).includes('after'), 'the second message at alice');
    await deliveredSoFar(alice.api, carol.tabs);
    for (const tab of carol.tabs) expect(texts(tab.messages, room.id)).toEqual(['alice created the room team', 'alice invited carol', 'before']);

    // A reconnect with the room's cursor catches up on nothing of it.
    carolSecondTab.close();
    const again = await connect(carol.api, { cursors: { [room.id]: 1 } });
    clients.push(again);
    // connect() resolves at `synced`: the catch-up is over, so what it would have replayed is here.
    expect(again.messages.filter((m) => m.conv === room.id)).toEqual([]);
    await expect(carol.api.history(room.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await carol.api.conversations()).conversations.map((c) => c.id)).toEqual([WORLD]);
    const { messages } = await alice.api.history(room.id);
    expect(messages.map((m) => m.text)).toEqual(['alice created the room team', 'alice invited carol', 'before', 'carol left', 'after']);
  });

  it('catches up a member who was away on what they missed, and counts it unread', async () => {
    const alice = await person('alice');
    const bob = await person('bob', { online: false });
    const room = await alice.rooms.create({ name: 'news', visibility: 'private', invite: [bob.user.id] });
    const first = await bob.open();
    await alice.tabs[0]!.session.send(room.id, 'one');
    await waitFor(() => texts(first.messages, room.id).includes('one'), 'the first message');
    const cursor = first.session.cursor(room.id)!;
    first.close();
    await alice.tabs[0]!.session.send(room.id, 'two');
    await alice.tabs[0]!.session.send(room.id, 'three');
    const back = await connect(bob.api, { cursors: { [room.id]: cursor } });
    clients.push(back);
    expect(texts(back.messages, room.id)).toEqual(['two', 'three']);
    const welcome = back.frames.find((f) => f.type === 'welcome') as unknown as { conversations: { id: string; unread: number }[] };
    expect(welcome.conversations.find((c) => c.id === room.id)).toMatchObject({ unread: 3 });
  });
});

describe('a public room', () => {
  it('is listed in the directory, and its whole history is readable after joining, not before', async () => {
    const alice = await person('alice');
    const carol = await person('carol');
    const room = await alice.rooms.create({ name: 'Gardening', topic: 'tomatoes', visibility: 'public' });
    await alice.tabs[0]!.session.send(room.id, 'first post');
    await alice.rooms.create({ name: 'secret garden', visibility: 'private' });

    const directory = await carol.rooms.directory({ q: 'gar' });
    expect(directory.rooms).toEqual([
      { id: room.id, name: 'Gardening', topic: 'tomatoes', visibility: 'public', memberCount: 1, joined: false, rev: expect.any(Number) },
    ]);
    expect(await carol.rooms.info(room.id)).toMatchObject({ name: 'Gardening', memberCount: 1 });
    await expect(carol.api.history(room.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const joined = await carol.rooms.join(room.id);
    expect(joined).toMatchObject({ id: room.id, kind: 'room', role: 'member', room: { memberCount: 2 } });
    expect((await carol.api.history(room.id)).messages.map((m) => m.text)).toEqual([
      'alice created the room Gardening',
      'first post',
      'carol joined',
    ]);
    expect((await carol.rooms.directory({ q: 'GARDEN' })).rooms[0]).toMatchObject({ joined: true, memberCount: 2 });
    // Joining again changes nothing.
    await carol.rooms.join(room.id);
    expect((await carol.api.history(room.id)).messages).toHaveLength(3);
    await waitFor(() => alice.tabs[0]!.frames.some((f) => f.type === 'member' && f.role === 'member'), 'the join at alice');
    expect(alice.tabs[0]!.frames.find((f) => f.type === 'member' && f.role === 'member')).toMatchObject({
      conv: room.id,
      user: { name: 'carol' },
      memberCount: 2,
    });
  });

  it('pages the directory by name with a cursor', async () => {
    const alice = await person('alice', { online: false });
    for (const name of ['delta', 'Alpha', 'charlie', 'bravo', 'echo']) await alice.rooms.create({ name, visibility: 'public' });
    const first = await alice.rooms.directory({ limit: 2 });
    expect(first.rooms.map((r) => r.name)).toEqual(['Alpha', 'bravo']);
    const second = await alice.rooms.directory({ limit: 2, after: first.next! });
    expect(second.rooms.map((r) => r.name)).toEqual(['charlie', 'delta']);
    const third = await alice.rooms.directory({ limit: 2, after: second.next! });
    expect(third.rooms.map((r) => r.name)).toEqual(['echo']);
    expect(third.next).toBeUndefined();
    await expect(alice.rooms.directory({ after: 'not-a-cursor' })).rejects.toMatchObject({ code: 'BAD_REQUEST', status: 400 });
  });

  it('gives directory pages of 50 rooms unless asked, at most 100, and member pages of at most 1,000, as PROTOCOL.md says', async () => {
    // 51 rooms from one user: more than the default send budget, which room changes take from.
    await server.close();
    server = await startTestServer({ flags: ['--send-rate', '100000', '--send-burst', '100000'] });
    const alice = await person('alice', { online: false });
    const created = [];
    for (let i = 0; i < 51; i++) created.push(await alice.rooms.create({ name: `room ${String(i).padStart(2, '0')}`, visibility: 'public' }));
    const page = await alice.rooms.directory();
    expect([page.rooms.length, page.next === undefined]).toEqual([50, false]);
    expect((await alice.rooms.directory({ limit: 100 })).rooms).toHaveLength(51);
    await expect(alice.rooms.directory({ limit: 101 })).rejects.toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    expect((await alice.rooms.members(created[0]!.id, { limit: 1000 })).members).toHaveLength(1);
    await expect(alice.rooms.members(created[0]!.id, { limit: 1001 })).rejects.toMatchObject({ code: 'BAD_REQUEST', status: 400 });
  });

  it('disappears from the directory when made private, and its members are told of the change', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const room = await alice.rooms.create({ name: 'open house', visibility: 'public' });
    await bob.rooms.join(room.id);
    const updated = await alice.rooms.update(room.id, { visibility: 'private', name: 'closed house' });
    expect(updated).toMatchObject({ visibility: 'private', name: 'closed house' });
    expect((await bob.rooms.directory()).rooms).toEqual([]);
    await waitFor(() => bob.tabs[0]!.frames.some((f) => f.type === 'room'), 'the room frame at bob');
    expect(bob.tabs[0]!.frames.filter((f) => f.type === 'room').at(-1)).toMatchObject({ id: room.id, name: 'closed house', visibility: 'private' });
  });
});
