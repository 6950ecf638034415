import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RoomApi } from '../src/client/rooms.ts';
import type { ServerFrameOf } from '../src/protocol/frames.ts';
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

async function person(name: string) {
  const registered = await registerUser(server.url, name);
  return { ...registered, rooms: new RoomApi(registered.api) };
}

async function staffedRoom() {
  const owner = await person('olive');
  const admin = await person('adam');
  const member = await person('mia');
  const other = await person('otto');
  const room = await owner.rooms.create({ name: 'staff', visibility: 'private', invite: [admin.user.id, member.user.id, other.user.id] });
  await owner.rooms.setRole(room.id, admin.user.id, 'admin');
  return { owner, admin, member, other, conv: room.id };
}

const roles = async (rooms: RoomApi, conv: string) =>
  Object.fromEntries((await rooms.members(conv)).members.map((m) => [m.user.name, m.role]));

describe('room roles', () => {
  it('lets the owner and admins rename, set the topic and visibility; a plain member is told ROOM_ADMIN_REQUIRED', async () => {
    const { owner, admin, member, conv } = await staffedRoom();
    await expect(member.rooms.update(conv, { name: 'mine' })).rejects.toMatchObject({ code: 'ROOM_ADMIN_REQUIRED', status: 403 });
    await expect(member.rooms.update(conv, { topic: 'x' })).rejects.toMatchObject({ code: 'ROOM_ADMIN_REQUIRED', status: 403 });
    expect(await admin.rooms.update(conv, { name: 'staff room', topic: 'rota' })).toMatchObject({ name: 'staff room', topic: 'rota' });
    expect(await owner.rooms.update(conv, { visibility: 'public' })).toMatchObject({ visibility: 'public' });
    const system = (await owner.api.history(conv)).messages.filter((m) => m.system).map((m) => m.text).slice(-3);
    expect(system).toEqual(['adam renamed the room from staff to staff room', 'adam set the topic: rota', 'olive made the room public']);
  });

  it('lets only the owner name and unname admins', async () => {
    const { owner, admin, member, conv } = await staffedRoom();
    await expect(admin.rooms.setRole(conv, member.user.id, 'admin')).rejects.toMatchObject({ code: 'ROOM_OWNER_REQUIRED', status: 403 });
    await expect(member.rooms.setRole(conv, member.user.id, 'admin')).rejects.toMatchObject({ code: 'ROOM_OWNER_REQUIRED' });
    await expect(owner.rooms.setRole(conv, owner.user.id, 'member')).rejects.toMatchObject({ code: 'ROOM_OWNER_REQUIRED' });
    await owner.rooms.setRole(conv, admin.user.id, 'member');
    expect(await roles(owner.rooms, conv)).toEqual({ adam: 'member', mia: 'member', olive: 'owner', otto: 'member' });
    await expect(admin.rooms.update(conv, { topic: 'no longer' })).rejects.toMatchObject({ code: 'ROOM_ADMIN_REQUIRED' });
  });

  it('lets an admin remove plain members but not admins or the owner; the owner may remove an admin', async () => {
    const { owner, admin, member, other, conv } = await staffedRoom();
    await expect(member.rooms.remove(conv, other.user.id)).rejects.toMatchObject({ code: 'ROOM_ADMIN_REQUIRED', status: 403 });
    await expect(admin.rooms.remove(conv, owner.user.id)).rejects.toMatchObject({ code: 'ROOM_ADMIN_REQUIRED', status: 403 });
    await admin.rooms.remove(conv, other.user.id);
    await owner.rooms.setRole(conv, member.user.id, 'admin');
    await expect(admin.rooms.remove(conv, member.user.id)).rejects.toMatchObject({ code: 'ROOM_ADMIN_REQUIRED' });
    await owner.rooms.remove(conv, admin.user.id);
    expect(await roles(owner.rooms, conv)).toEqual({ mia: 'admin', olive: 'owner' });
    await expect(owner.rooms.remove(conv, other.user.id)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(other.api.history(conv)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('tells a removed member at once on every connection, and sends them nothing more', async () => {
    const { owner, member, conv } = await staffedRoom();
    const tabs = [await connect(member.api), await connect(member.api)];
    clients.push(...tabs);
    const ownerTab = await connect(owner.api);
    clients.push(ownerTab);
    await owner.rooms.remove(conv, member.user.id);
    for (const tab of tabs) await waitFor(() => tab.frames.some((f) => f.type === 'member' && f.role === null), 'the removal on each tab');
    await ownerTab.session.send(conv, 'after the removal');
    await waitFor(() => ownerTab.messages.some((m) => m.text === 'after the removal'), 'the message at the owner');
    await deliveredSoFar(owner.api, tabs);
    for (const tab of tabs) expect(tab.messages.filter((m) => m.conv === conv)).toEqual([]);
    await expect(tabs[0]!.session.send(conv, 'still here?')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(member.rooms.members(conv)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('says in each member frame who made the change: the remover to the removed member, the inviter, or the member themselves', async () => {
    const { owner, admin, member, conv } = await staffedRoom();
    const memberTab = await connect(member.api);
    const ownerTab = await connect(owner.api);
    clients.push(memberTab, ownerTab);
    const newcomer = await person('nina');
    await admin.rooms.invite(conv, [newcomer.user.id]);
    await newcomer.rooms.leave(conv);
    await admin.rooms.remove(conv, member.user.id);
    const changes = (frames: Client['frames']) =>
      frames.flatMap((f) => {
        if (f.type !== 'member') return [];
        const { user, role, by } = f as unknown as ServerFrameOf<'member'>;
        return [`${user.name} ${role ?? 'out'} by ${by.name}`];
      });
    await waitFor(() => changes(memberTab.frames).length === 3, 'three membership changes at mia');
    expect(changes(memberTab.frames)).toEqual(['nina member by adam', 'nina out by nina', 'mia out by adam']);
    await waitFor(() => changes(ownerTab.frames).length === 3, 'three membership changes at olive');
    expect(changes(ownerTab.frames)).toEqual(['nina member by adam', 'nina out by nina', 'mia out by adam']);
  });

  it('hands the room to the longest-standing admin when the owner leaves, else the longest-standing member', async () => {
    const { owner, admin, member, conv } = await staffedRoom();
    await owner.rooms.leave(conv);
    expect(await roles(admin.rooms, conv)).toEqual({ adam: 'owner', mia: 'member', otto: 'member' });
    await admin.rooms.leave(conv);
    expect(await roles(member.rooms, conv)).toEqual({ mia: 'owner', otto: 'member' });
    const texts = (await member.api.history(conv)).messages.map((m) => m.text).slice(-4);
    expect(texts).toEqual(['olive left', 'adam is now the owner', 'adam left', 'mia is now the owner']);
    await expect(owner.rooms.leave(conv)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('adds only people not yet in the room when inviting, and refuses an unknown user id', async () => {
    const { owner, member, other, conv } = await staffedRoom();
    const newcomer = await person('nina');
    expect(await member.rooms.invite(conv, [other.user.id, newcomer.user.id])).toEqual({ added: [{ id: newcomer.user.id, name: 'nina' }] });
    await expect(owner.rooms.invite(conv, [999_999])).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect((await owner.rooms.info(conv)).memberCount).toBe(5);
  });
});

describe('room limits', () => {
  it('takes names of 1-64 characters in any script and refuses longer, blank or control characters with ROOM_NAME_INVALID', async () => {
    const alice = await person('alice');
    const create = (name: string) => alice.rooms.create({ name, visibility: 'private' });
    expect((await create('房'.repeat(64))).room!.name).toBe('房'.repeat(64));
    expect((await create('😀'.repeat(64))).room!.name).toBe('😀'.repeat(64));
    expect((await create('  padded  ')).room!.name).toBe('padded');
    for (const bad of ['房'.repeat(65), '', '   ', 'tab\there', 'line\nbreak', 'bell\u0007', 'next line\u0085']) {
      await expect(create(bad)).rejects.toMatchObject({ code: 'ROOM_NAME_INVALID', status: 400 });
    }
    // NUL and lone surrogates never get this far: the edge refuses ill-formed text in any field.
    await expect(create('nul\u0000')).rejects.toMatchObject({ code: 'TEXT_ILL_FORMED', status: 400 });
  });

  it('takes topics of up to 250 characters on one line and refuses more with ROOM_TOPIC_INVALID', async () => {
    const alice = await person('alice');
    const room = await alice.rooms.create({ name: 'r', visibility: 'private', topic: 't'.repeat(250) });
    expect(room.room!.topic).toBe('t'.repeat(250));
    await expect(alice.rooms.update(room.id, { topic: 't'.repeat(251) })).rejects.toMatchObject({ code: 'ROOM_TOPIC_INVALID', status: 400 });
    await expect(alice.rooms.update(room.id, { topic: 'two\nlines' })).rejects.toMatchObject({ code: 'ROOM_TOPIC_INVALID' });
    expect(await alice.rooms.update(room.id, { topic: '' })).toMatchObject({ topic: '' });
  });

  it('invites at most 100 people per request and refuses 101 with BAD_REQUEST', async () => {
    const alice = await person('alice');
    const room = await alice.rooms.create({ name: 'r', visibility: 'private' });
    const ids = Array.from({ length: 101 }, (_, i) => i + 1);
    await expect(alice.rooms.invite(room.id, ids)).rejects.toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    await expect(alice.rooms.create({ name: 'r', visibility: 'private', invite: ids })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // 100 ids pass the schema; these users do not exist, so the answer names the first.
    await expect(alice.rooms.invite(room.id, ids.slice(0, 100).map((i) => i + 1000))).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'No user has the id 1001.' });
  });

  it('answers room addresses that are not room ids with NOT_FOUND', async () => {
    const alice = await person('alice');
    await expect(alice.rooms.info('world')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(alice.rooms.join('room:short')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(alice.rooms.remove('room:AAAAAAAAAAAA', 0)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });
});
