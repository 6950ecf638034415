import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { RoomApi } from '../src/client/rooms.ts';
import { WORLD, dmId } from '../src/protocol/index.ts';
import { PASSWORD, rawSocket, waitFor } from './support/clients.ts';
import { serveProcess, type ParleyProcess } from './support/parley-process.ts';
import { freePort } from './support/ports.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';

/** `parley serve --database postgres://…`: the real server, as its own process, on a private PostgreSQL. */
describe.runIf(hasPostgres)('parley serve --database', () => {
  const postgres = privatePostgres();
  let server: ParleyProcess | null = null;
  const dirs: string[] = [];
  afterEach(async () => {
    server?.child.kill('SIGKILL');
    server = null;
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'parley-pg-data-'));
    dirs.push(dir);
    return dir;
  }

  async function stop(): Promise<void> {
    server!.child.kill('SIGTERM');
    expect(await server!.exited).toBe(0);
    server = null;
  }

  it('keeps accounts, sessions, messages and read positions in PostgreSQL across a restart, whatever the data folder', async () => {
    const url = await postgres().createDatabase();
    server = await serveProcess(['--port', '0', '--data', await dataDir(), '--database', url]);
    const alice = await new ParleyApi(server.url).register({ name: 'alice', password: PASSWORD });
    const bob = await new ParleyApi(server.url).register({ name: 'bob', password: PASSWORD });
    const asAlice = new ParleyApi(server.url, { token: alice.token });
    const hello = await asAlice.send(WORLD, 'hello from PostgreSQL', 'c1');
    const dm = dmId(alice.user.id, bob.user.id);
    await asAlice.send(dm, 'just for bob', 'c2');
    await stop();

    // The second start reads the URL from the environment and has an empty data folder of its own.
    process.env.PARLEY_DATABASE_URL = url;
    try {
      server = await serveProcess(['--port', '0', '--data', await dataDir()]);
    } finally {
      delete process.env.PARLEY_DATABASE_URL;
    }
    const again = new ParleyApi(server.url, { token: alice.token });
    expect((await again.history(WORLD)).messages.map((m) => [m.seq, m.text, m.sender.name])).toEqual([[1, 'hello from PostgreSQL', 'alice']]);
    const retried = await again.send(WORLD, 'hello from PostgreSQL', 'c1');
    expect(retried.seq).toBe(hello.seq);
    const asBob = new ParleyApi(server.url, { token: bob.token });
    expect((await asBob.history(dm)).messages.map((m) => m.text)).toEqual(['just for bob']);
    const { conversations } = await asBob.conversations();
    expect(conversations.find((c) => c.id === dm)).toMatchObject({ unread: 1, lastSeq: 1 });
    expect(conversations.find((c) => c.id === WORLD)).toMatchObject({ unread: 1, lastSeq: 1 });
    await stop();
  });

  it("stores a sender's messages in the order they were sent, the first ones of new DMs too (while their peer is looked up)", async () => {
    const url = await postgres().createDatabase();
    server = await serveProcess(['--port', '0', '--data', await dataDir(), '--database', url, '--send-rate', '1000', '--send-burst', '1000']);
    const alice = await new ParleyApi(server.url).register({ name: 'alice', password: PASSWORD });
    const peers = [];
    for (let i = 0; i < 6; i++) peers.push((await new ParleyApi(server.url).register({ name: `peer${i}`, password: PASSWORD })).user);
    // The server has not looked any peer up yet: each first send into a DM waits for its peer from
    // the pool, whose connections answer in any order, while the sends behind it are already read.
    const raw = await rawSocket(server.url, alice.token);
    raw.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await raw.next('synced');
    const perDm = 10;
    const sent = new Map(peers.map((peer) => [peer.id, Array.from({ length: perDm }, (_, i) => `${peer.name}-${i}`)]));
    for (let i = 0; i < perDm; i++) {
      for (const peer of peers) raw.send(JSON.stringify({ type: 'send', conv: dmId(alice.user.id, peer.id), clientId: sent.get(peer.id)![i], text: `${i}` }));
    }
    await waitFor(() => raw.frames.filter((frame) => frame.type === 'ack').length === peers.length * perDm, 'every ack');
    expect(raw.frames.filter((frame) => frame.type === 'error')).toEqual([]);
    const api = new ParleyApi(server.url, { token: alice.token });
    for (const peer of peers) {
      const { messages } = await api.history(dmId(alice.user.id, peer.id), { limit: 100 });
      expect(messages.map((message) => message.clientId), `the DM with ${peer.name}`).toEqual(sent.get(peer.id));
    }
    raw.ws.close();
  });

  it('refuses a send over the limit while the one before it still waits for the database, and goes on serving', async () => {
    const url = await postgres().createDatabase();
    server = await serveProcess(['--port', '0', '--data', await dataDir(), '--database', url, '--send-rate', '1', '--send-burst', '1']);
    const alice = await new ParleyApi(server.url).register({ name: 'alice', password: PASSWORD });
    const bob = await new ParleyApi(server.url).register({ name: 'bob', password: PASSWORD });
    const raw = await rawSocket(server.url, alice.token);
    raw.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await raw.next('synced');
    // The first send into a new DM waits for its peer from PostgreSQL; the second is refused at
    // once, before the chain of the sender's sends reaches it.
    raw.send(JSON.stringify({ type: 'send', conv: dmId(alice.user.id, bob.user.id), clientId: 'first', text: 'hello bob' }));
    raw.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'second', text: 'too soon' }));
    expect(await raw.next('ack')).toMatchObject({ clientId: 'first', seq: 1 });
    expect(await raw.next('error')).toMatchObject({ code: 'RATE_LIMITED', clientId: 'second' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    raw.ws.close();
  });

  it('answers a NUL in an address (404) or a forged directory cursor (400), never a 500 (PostgreSQL text cannot hold a NUL)', async () => {
    server = await serveProcess(['--port', '0', '--data', await dataDir(), '--database', await postgres().createDatabase()]);
    const alice = await new ParleyApi(server.url).register({ name: 'alice', password: PASSWORD });
    const get = async (path: string) => {
      const response = await fetch(`${server!.url}${path}`, { headers: { authorization: `Bearer ${alice.token}` } });
      return [response.status, ((await response.json()) as { error?: { code: string } }).error?.code];
    };
    const rooms = new RoomApi(new ParleyApi(server.url, { token: alice.token }));
    for (const name of ['a', 'b']) await rooms.create({ name, visibility: 'public' });
    const { next } = await rooms.directory({ limit: 1 });
    const [, id] = JSON.parse(Buffer.from(next!, 'base64url').toString('utf8')) as [string, string];
    expect(await get(`/api/rooms?after=${next}`)).toEqual([200, undefined]);
    expect(await get(`/api/rooms?after=${Buffer.from(JSON.stringify(['a\u0000', id])).toString('base64url')}`)).toEqual([400, 'BAD_REQUEST']);
    expect(await get('/api/users/ali%00ce')).toEqual([404, 'NOT_FOUND']);
    for (const path of ['/api/people?prefix=%00', '/api/rooms?q=%00', `/api/rooms/${id}/members?after=%00`]) {
      expect([path, ...(await get(path))]).toEqual([path, 400, 'TEXT_ILL_FORMED']);
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('does not start on a database it cannot reach or that does not exist, in the driver\'s words, not a client\'s retry advice', async () => {
    const closedPort = await freePort(); // nothing listens there
    await expect(serveProcess(['--port', '0', '--data', await dataDir(), '--database', `postgres://parley:hunter2@127.0.0.1:${closedPort}/parley`])).rejects.toThrow(
      new RegExp(`parley exited with 1: parley: Cannot use the PostgreSQL database postgres://parley:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}/parley: connect ECONNREFUSED 127\\.0\\.0\\.1:${closedPort}\\n`),
    );
    const missing = new URL(await postgres().createDatabase());
    missing.pathname = '/no_such_database';
    const refused = serveProcess(['--port', '0', '--data', await dataDir(), '--database', missing.toString()]);
    await expect(refused).rejects.toThrow(/Cannot use the PostgreSQL database postgres:\/\/parley@127\.0\.0\.1:\d+\/no_such_database: database "no_such_database" does not exist/);
    await expect(refused).rejects.not.toThrow(/client id/);
  });

  it('refuses to start on a database whose schema is newer than this Parley, saying so', async () => {
    const url = await postgres().createDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE parley_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    await client.query('INSERT INTO parley_schema (version) VALUES (999)');
    await client.end();
    await expect(serveProcess(['--port', '0', '--data', await dataDir(), '--database', url])).rejects.toThrow(
      /parley exited with 1: parley: Cannot use the PostgreSQL database postgres:\/\/parley@127\.0\.0\.1:\d+\/\w+: The PostgreSQL schema \(version 999\) is newer than this Parley/,
    );
  });
});
