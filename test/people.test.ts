import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RoomApi } from '../src/client/rooms.ts';
import { connect, registerUser, type Client } from './support/clients.ts';
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

describe('the people directory', () => {
  it('finds anyone by the start of their name, ignoring case, online or not, and says who is online', async () => {
    const names = ['Alice', 'alan', 'albert', 'bob', '小明', '小红'];
    const registered = [];
    for (const name of names) registered.push(await registerUser(server.url, name));
    clients.push(await connect(registered[1]!.api));
    const rooms = new RoomApi(registered[3]!.api);

    const { people } = await rooms.people('AL');
    expect(people.map((p) => [p.name, p.online])).toEqual([
      ['alan', true],
      ['albert', false],
      ['Alice', false],
    ]);
    expect((await rooms.people('小')).people.map((p) => p.name)).toEqual(['小明', '小红']);
    expect((await rooms.people('zed')).people).toEqual([]);
    expect((await rooms.people('')).people).toHaveLength(6);
  });

  it('pages by name with `next`, and refuses a page over 100 with BAD_REQUEST', async () => {
    for (const name of ['ann', 'anna', 'annie', 'anton', 'anya']) await registerUser(server.url, name);
    const { api } = await registerUser(server.url, 'zoe');
    const rooms = new RoomApi(api);
    const first = await rooms.people('an', { limit: 2 });
    expect(first.people.map((p) => p.name)).toEqual(['ann', 'anna']);
    const second = await rooms.people('an', { limit: 2, after: first.next! });
    expect(second.people.map((p) => p.name)).toEqual(['annie', 'anton']);
    const third = await rooms.people('an', { limit: 2, after: second.next! });
    expect(third).toEqual({ people: [{ id: expect.any(Number), name: 'anya', online: false }] });
    expect((await rooms.people('', { limit: 100 })).people).toHaveLength(6);
    await expect(rooms.people('', { limit: 101 })).rejects.toMatchObject({ code: 'BAD_REQUEST', status: 400 });
  });

  it('gives pages of 20 people unless asked otherwise, as PROTOCOL.md says', async () => {
    const registered = [];
    for (let i = 0; i < 21; i++) registered.push(await registerUser(server.url, `person${String(i).padStart(2, '0')}`));
    const page = await new RoomApi(registered[0]!.api).people('');
    expect(page.people.map((p) => p.name)).toEqual(registered.slice(0, 20).map((r) => r.user.name));
    expect(page.next).toBeDefined();
  });

  it('is for signed-in users only', async () => {
    const anonymous = new RoomApi(new (await import('../src/client/api.ts')).ParleyApi(server.url));
    await expect(anonymous.people('a')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });
});
