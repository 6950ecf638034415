/**
 * Cluster mode, wired: two real servers on one private PostgreSQL and one private Redis
 * (`--database` and `--redis`), clients on each. Messages, presence, logout and the send limit
 * cross from one node to the other; room member lists changed while Redis was away are brought
 * up to date on the other node once it is back.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import WebSocket from 'ws';
import { RoomApi } from '../src/client/rooms.ts';
import type { SocketLike } from '../src/client/session.ts';
import { PROTOCOL_VERSION, WORLD, dmId } from '../src/protocol/index.ts';
import { ChatStore } from '../src/web/state/chat-store.ts';
import { RoomMembers } from '../src/web/state/room-members.ts';
import { connect, PASSWORD, rawSocket, registerUser, waitFor, within, type Client } from './support/clients.ts';
import { serveProcess } from './support/parley-process.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { hasRedis, privateRedis, startRedis } from './support/redis.ts';
import { startTestServer, type TestServer, type TestServerOptions } from './support/server.ts';
import { systemClock, type Clock } from '../src/server/clock.ts';
import { rawRequest } from './support/http.ts';

/** The ACL rules docs/DEPLOYMENT.md gives for Parley's Redis user ("Redis"), read from it. */
const REDIS_ACL = /^ACL SETUSER parley on >\S+ (.+)$/m.exec(readFileSync(new URL('../docs/DEPLOYMENT.md', import.meta.url), 'utf8'))?.[1] ?? 'missing from docs/DEPLOYMENT.md';

describe.runIf(hasPostgres && hasRedis)('two nodes on PostgreSQL and Redis', () => {
  const postgres = privatePostgres();
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    // Each test is a deployment of its own on this Redis; one stopped a moment ago may still hold
    // it (a cluster's announcement lasts 20 s when its last node could not withdraw it: docs/DEPLOYMENT.md).
    await redis().flush();
  });

  async function cluster(flags: string[] = [], options: Pick<TestServerOptions, 'logger' | 'sessionRecheckMs'> = {}, redisUrl = redis().url): Promise<[TestServer, TestServer]> {
    const database = await postgres().createDatabase();
    const started = await Promise.allSettled([0, 1].map(() => startTestServer({ flags: ['--database', database, '--redis', redisUrl, ...flags], ...options })));
    // A node that started is closed after the test even when the other did not: left running, it would hold this Redis for the next tests.
    for (const result of started) if (result.status === 'fulfilled') cleanups.push(() => result.value.close());
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return started.map((result) => (result as PromiseFulfilledResult<TestServer>).value) as [TestServer, TestServer];
  }

  async function client(api: ParleyApi): Promise<Client> {
    const connected = await connect(api);
    cleanups.push(() => connected.close());
    return connected;
  }

  const onlineAtWelcome = (client: Client) => {
    const welcome = client.frames.find((frame) => frame.type === 'welcome') as { online?: { name: string }[] } | undefined;
    return (welcome?.online ?? []).map((user) => user.name);
  };

  it('delivers world and direct messages and presence from one node to the clients of the other', async () => {
    const [a, b] = await cluster();
    const alice = await registerUser(a.url, 'alice');
    const bob = await registerUser(b.url, 'bob');
    const aliceOnA = await client(alice.api);
    const bobOnB = await client(new ParleyApi(b.url, { token: bob.token }));

    // Bob on B learns that alice, on A, is online: in his welcome, or right after it if her arrival was still on its way.
    expect(onlineAtWelcome(bobOnB)).toContain('bob');
    const bobSeesAlice = () => onlineAtWelcome(bobOnB).includes('alice') || bobOnB.presence.some((change) => change.user.name === 'alice' && change.online);
    await waitFor(bobSeesAlice, 'bob on B sees alice online');
    await waitFor(() => aliceOnA.presence.some((change) => change.user.name === 'bob' && change.online), 'alice on A hears bob is online');
    // And a client that connects later gets both in its welcome, from whichever node.
    const carol = await registerUser(a.url, 'carol');
    const carolOnB = await client(new ParleyApi(b.url, { token: carol.token }));
    expect(onlineAtWelcome(carolOnB).sort()).toEqual(['alice', 'bob', 'carol']);

    await alice.api.send(WORLD, 'hello from A', 'w1');
    await new ParleyApi(b.url, { token: bob.token }).send(dmId(alice.user.id, bob.user.id), 'hi alice, from B', 'd1');
    await waitFor(() => bobOnB.messages.some((message) => message.text === 'hello from A'), 'bob on B hears the world message sent on A');
    await waitFor(() => aliceOnA.messages.some((message) => message.text === 'hi alice, from B'), 'alice on A gets the DM sent on B');
    expect(aliceOnA.messages.map((message) => [message.conv, message.seq, message.text])).toEqual([
      [WORLD, 1, 'hello from A'],
      [dmId(alice.user.id, bob.user.id), 1, 'hi alice, from B'],
    ]);

    bobOnB.close();
    await waitFor(() => aliceOnA.presence.some((change) => change.user.name === 'bob' && !change.online), 'alice hears bob left');

    expect(await (await fetch(`${a.url}/healthz`)).json()).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'ok', settings: 'same' });
  });

  it('counts a Redis that keeps the connection but stops answering as away: sends are still acknowledged, /healthz says so, and once it answers the other node has every message once', async () => {
    const [a, b] = await cluster();
    const alice = await registerUser(a.url, 'alice');
    const bob = await registerUser(b.url, 'bob');
    const bobOnB = await client(new ParleyApi(b.url, { token: bob.token }));
    await alice.api.send(WORLD, 'before the pause', 'p0');
    await waitFor(() => bobOnB.messages.some((message) => message.text === 'before the pause'), 'bob hears the first message');
    const health = async (node: TestServer) => ((await (await fetch(`${node.url}/healthz`)).json()) as { redis: string }).redis;

    process.kill(redis().pid!, 'SIGSTOP');
    try {
      // Each send takes the shared send limit in Redis first: it must not wait for as long as Redis is paused.
      const paused = Date.now();
      const acks = await within(
        8_000,
        Promise.all(['p1', 'p2'].map((id, i) => alice.api.send(WORLD, `while paused ${i + 1}`, id))),
        'the sends made after Redis stopped answering',
      );
      // Two requests at once: either may reach the node first, so either may take seq 2.
      expect(acks.map((ack) => ack.seq).sort((x, y) => x - y)).toEqual([2, 3]);
      expect(Date.now() - paused).toBeGreaterThanOrEqual(1_000); // the limit waited for Redis before it fell back to this node's
      const checkHealth = async () => (await health(a)) === 'down';
      for (const deadline = Date.now() + 5_000; !(await checkHealth()); ) {
        if (Date.now() > deadline) throw new Error('A still says Redis is up while it does not answer');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      process.kill(redis().pid!, 'SIGCONT');
    }
    for (const deadline = Date.now() + 10_000; (await health(a)) !== 'up'; ) {
      if (Date.now() > deadline) throw new Error('A did not get Redis back');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await alice.api.send(WORLD, 'after the pause', 'p3');
    await waitFor(() => bobOnB.messages.some((message) => message.text === 'after the pause'), 'bob hears the message sent after the pause');
    expect(bobOnB.messages.filter((message) => message.conv === WORLD).map((message) => [message.seq, message.text])).toEqual([
      [1, 'before the pause'],
      [2, 'while paused 1'],
      [3, 'while paused 2'],
      [4, 'after the pause'],
    ]);
  });

  it('reports the bus on /metrics: what each node published and heard, Redis going away, the failed publish and the read-backs after it', async () => {
    const [a, b] = await cluster();
    /** Every sample of a node's scrape, by `name{label="value",…}`. */
    const scrape = async (node: TestServer) => {
      const samples = new Map<string, number>();
      for (const family of parsePrometheusTextFormat(await (await fetch(`${node.url}/metrics`)).text())) {
        for (const metric of family.metrics) {
          const labels = Object.entries(metric.labels ?? {}).map(([key, value]) => `${key}="${value}"`).join(',');
          if (metric.value !== undefined) samples.set(labels ? `${family.name}{${labels}}` : family.name, Number(metric.value));
        }
      }
      return samples;
    };
    const until = async (node: TestServer, what: string, holds: (samples: Map<string, number>) => boolean) => {
      for (const deadline = Date.now() + 15_000; !holds(await scrape(node)); ) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const alice = await registerUser(a.url, 'alice');
    const bob = await registerUser(b.url, 'bob');
    const bobOnB = await client(new ParleyApi(b.url, { token: bob.token }));
    // Each node counts the nodes at its heartbeat: the one that started first sees the other at its next.
    for (const node of [a, b]) await until(node, 'both nodes counted', (now) => now.get('parley_cluster_nodes') === 2);
    const before = { a: await scrape(a), b: await scrape(b) };
    expect(before.a.get('parley_redis_up')).toBe(1);
    // Redis runs on this machine: its clock and the node's agree.
    expect(Math.abs(before.a.get('parley_redis_clock_offset_seconds')!)).toBeLessThan(1);
    for (const cause of ['reconnected', 'notice', 'late_subscription']) expect(before.b.get(`parley_bus_read_backs_total{cause="${cause}"}`)).toBe(0);

    await alice.api.send(WORLD, 'counted on both sides', 'm1');
    await waitFor(() => bobOnB.messages.some((message) => message.text === 'counted on both sides'), 'bob hears the message');
    await until(a, "A's publish counted", (now) => now.get('parley_bus_envelopes_published_total')! > before.a.get('parley_bus_envelopes_published_total')!);
    await until(b, "B's receipt counted", (now) => now.get('parley_bus_events_received_total')! > before.b.get('parley_bus_events_received_total')!);
    expect((await scrape(a)).get('parley_bus_publish_failures_total')).toBe(0);

    await redis().stop();
    await until(a, 'A to see Redis down', (now) => now.get('parley_redis_up') === 0);
    // Acknowledged (it is in the database) though the bus cannot carry it: a failed publish, counted.
    expect((await alice.api.send(WORLD, 'while Redis is away', 'm2')).seq).toBe(2);
    await until(a, "A's failed publish counted", (now) => now.get('parley_bus_publish_failures_total')! >= 1);

    await redis().restart();
    await until(a, 'A to see Redis back', (now) => now.get('parley_redis_up') === 1);
    // B's own link came back, so it read the database, and its client has the message Redis never carried.
    await until(b, "B's read-back counted", (now) => now.get('parley_bus_read_backs_total{cause="reconnected"}')! >= 1);
    await waitFor(() => bobOnB.messages.some((message) => message.text === 'while Redis is away'), 'bob gets the message from the read-back');
  });

  it('stamps messages on the cluster’s time, so a DM begun during a Redis outage through a node whose clock is a minute slow is read back by the other node', async () => {
    const database = await postgres().createDatabase();
    const flags = ['--database', database, '--redis', redis().url];
    // Node A's machine clock is a minute behind; its timers run as ever.
    const slow: Clock = { ...systemClock, now: () => Date.now() - 60_000 };
    const a = await startTestServer({ flags, clock: slow });
    cleanups.push(() => a.close());
    const b = await startTestServer({ flags });
    cleanups.push(() => b.close());
    const redisUp = async (node: TestServer) => /^parley_redis_up 1$/m.test(await (await fetch(`${node.url}/metrics`)).text());
    const untilRedis = async (up: boolean, nodes: TestServer[], what: string) => {
      for (const deadline = Date.now() + 15_000; (await Promise.all(nodes.map(redisUp))).some((each) => each !== up); ) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    const alice = await registerUser(a.url, 'alice');
    const bob = await registerUser(b.url, 'bob');
    const bobOnB = await client(new ParleyApi(b.url, { token: bob.token }));
    const hello = await alice.api.send(WORLD, 'hello from the slow node', 'w1');
    // The time A stamps is Redis's (this machine's), not its own clock's.
    expect(Math.abs(hello.ts - Date.now())).toBeLessThan(5_000);
    await waitFor(() => bobOnB.messages.some((message) => message.text === 'hello from the slow node'), 'bob hears A at all');

    await redis().stop();
    await untilRedis(false, [b], 'B to see Redis down');
    const dm = dmId(alice.user.id, bob.user.id);
    const sent = await alice.api.send(dm, 'begun while Redis is away', 'd1');
    expect(sent.seq).toBe(1);
    await redis().restart();
    await untilRedis(true, [a, b], 'both nodes to see Redis back');
    // No later message shows B the DM: it must find it when it reads back what the outage may have hidden.
    await waitFor(() => bobOnB.messages.some((message) => message.conv === dm && message.text === 'begun while Redis is away'), 'bob gets the DM from the read-back', 15_000);
    const received = bobOnB.messages.find((message) => message.conv === dm)!;
    expect({ seq: received.seq, ts: received.ts }).toEqual({ seq: 1, ts: sent.ts });
  });

  it('runs on a Redis user limited by the ACL docs/DEPLOYMENT.md gives, and refuses a wrong password without printing it', async () => {
    const admin = new Redis(redis().url);
    cleanups.push(() => admin.quit());
    await admin.call('ACL', 'SETUSER', 'parley', 'reset', 'on', '>acl-test-password-1', ...REDIS_ACL.split(' '));
    cleanups.push(() => admin.call('ACL', 'DELUSER', 'parley'));
    const logs: { level: number; msg: string; err?: { message?: string } }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) });
    const url = redis().url.replace('redis://', 'redis://parley:acl-test-password-1@');
    const [a, b] = await cluster([], { logger }, url);

    const alice = await registerUser(a!.url, 'alice');
    const bob = await registerUser(b!.url, 'bob');
    const aliceOnA = await client(alice.api);
    const bobOnB = await client(new ParleyApi(b!.url, { token: bob.token }));
    await waitFor(() => aliceOnA.presence.some((change) => change.user.name === 'bob' && change.online), 'alice on A hears bob is online');
    await alice.api.send(dmId(alice.user.id, bob.user.id), 'through the limited user', 'acl1');
    await waitFor(() => bobOnB.messages.some((message) => message.text === 'through the limited user'), 'bob on B gets the DM');
    expect(await (await fetch(`${a!.url}/healthz`)).json()).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'ok', settings: 'same' });
    // Every command the nodes sent was allowed: no NOPERM (or any other Redis complaint) was logged.
    expect(logs.filter((entry) => /NOPERM|Redis/i.test(`${entry.msg} ${entry.err?.message ?? ''}`))).toEqual([]);

    const dataDir = await mkdtemp(join(tmpdir(), 'parley-redis-acl-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const wrong = serveProcess(['--port', '0', '--data', dataDir, '--database', await postgres().createDatabase(), '--redis', url.replace('acl-test-password-1', 'not-the-password-2')]);
    await expect(wrong).rejects.toThrow(/Cannot reach Redis at redis:\/\/parley:\*+@127\.0\.0\.1:\d+.*WRONGPASS/);
    await expect(wrong).rejects.not.toThrow(/not-the-password-2/);
  });

  it('does not start when Redis cannot be reached, and says where it looked', async () => {
    const closed = await startRedis();
    await closed.close(); // a port where nothing listens now
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-cluster-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const url = `redis://:secret@127.0.0.1:${closed.port}`;
    await expect(serveProcess(['--port', '0', '--data', dataDir, '--database', await postgres().createDatabase(), '--redis', url])).rejects.toThrow(
      new RegExp(`exited with 1: parley: Cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${closed.port}`),
    );
  });

  it('closes a session’s sockets on every node when it logs out on one', async () => {
    const [a, b] = await cluster();
    const alice = await registerUser(a.url, 'alice');
    const socket = await rawSocket(b.url, alice.token);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION }));
    await socket.next('welcome');
    await alice.api.logout();
    expect((await socket.closed).code).toBe(4001);
  });

  it('ends the other sessions on every node when a password changes on one, and keeps the one that changed it', async () => {
    const [a, b] = await cluster();
    const here = await registerUser(a.url, 'alice');
    const elsewhere = await new ParleyApi(b.url).login({ name: 'alice', password: PASSWORD });
    const [hereOnB, elsewhereOnB] = await Promise.all([here.token, elsewhere.token].map((token) => rawSocket(b.url, token)));
    for (const socket of [hereOnB!, elsewhereOnB!]) {
      socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION }));
      await socket.next('welcome');
    }
    await here.api.changePassword({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' });
    expect(await elsewhereOnB!.closed).toEqual({ code: 4001, reason: 'password changed' });
    await expect(new ParleyApi(b.url, { token: elsewhere.token }).me()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    hereOnB!.send(JSON.stringify({ type: 'ping', ref: 'still' }));
    expect(await hereOnB!.next('pong')).toEqual({ type: 'pong', ref: 'still' });
    hereOnB!.ws.close();
    expect((await new ParleyApi(b.url).login({ name: 'alice', password: 'a brand new passphrase' })).user.name).toBe('alice');
  });

  /** A raw socket of `token` on `node`, past its welcome. */
  async function welcomed(node: TestServer, token: string) {
    const socket = await rawSocket(node.url, token);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION }));
    await socket.next('welcome');
    return socket;
  }

  it('closes on the other node a session that logged out while Redis was away, as soon as Redis is back (the event was lost)', async () => {
    const [a, b] = await cluster();
    const alice = await registerUser(a.url, 'alice');
    const socket = await welcomed(b, alice.token);
    await redis().stop();
    await alice.api.logout();
    await expect(new ParleyApi(b.url, { token: alice.token }).me()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await redis().restart();
    // Read back after the outage, well before the periodic check (15 s) would come round.
    expect(await within(10_000, socket.closed, 'the logged-out session’s socket on B to close')).toEqual({ code: 4001, reason: 'session ended' });
  });

  it('closes on the other node, within its check interval, the sessions a password change ended while Redis stays away', async () => {
    const [a, b] = await cluster([], { sessionRecheckMs: 500 });
    const here = await registerUser(a.url, 'alice');
    const elsewhere = await new ParleyApi(b.url).login({ name: 'alice', password: PASSWORD });
    const [hereOnB, elsewhereOnB] = [await welcomed(b, here.token), await welcomed(b, elsewhere.token)];
    await redis().stop();
    try {
      await here.api.changePassword({ currentPassword: PASSWORD, newPassword: 'a brand new passphrase' });
      expect(await within(5_000, elsewhereOnB.closed, 'the ended session’s socket on B to close')).toEqual({ code: 4001, reason: 'session ended' });
      // The session that made the change goes on.
      hereOnB.send(JSON.stringify({ type: 'ping', ref: 'still' }));
      expect(await hereOnB.next('pong')).toEqual({ type: 'pong', ref: 'still' });
      hereOnB.ws.close();
    } finally {
      await redis().restart();
    }
  });

  it('brings a room’s member list up to date on the other node after a Redis outage (joins, a leave, removals, a role), and tells a removed member there', async () => {
    const [a, b] = await cluster(['--send-rate', '100', '--send-burst', '100']);
    const names = ['olga', 'alice', 'dave', 'bob', 'carol', 'gina', 'erin', 'frank'] as const;
    const people = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await registerUser(a.url, name)] as const))) as Record<
      (typeof names)[number],
      Awaited<ReturnType<typeof registerUser>>
    >;
    const { olga, alice, dave, bob, carol, gina, erin, frank } = people;
    const rooms = new RoomApi(olga.api);
    const room = await rooms.create({ name: 'Outage club', visibility: 'public', invite: [alice, dave, bob, carol, gina].map((p) => p.user.id) });
    const listed = async () => (await rooms.members(room.id)).members.map((m) => `${m.user.name} ${m.role}`).sort();
    // Alice and Dave are connected to B in the web client, Alice with the room's members panel
    // open (state/room-members.ts); a recording client of Alice's on B counts the frames.
    const webClient = async (who: typeof alice) => {
      const store = new ChatStore(new ParleyApi(b.url, { token: who.token }), who.user, { viewing: () => null, onDirectMessage: () => {}, onSessionEnded: () => {} }, (url) =>
        new WebSocket(url, { headers: { authorization: `Bearer ${who.token}` } }) as unknown as SocketLike,
      );
      cleanups.push(() => store.stop());
      store.start();
      await waitFor(() => store.ready.value && store.summary(room.id) !== undefined, `${who.user.name}'s web client to hold the room`);
      return store;
    };
    const [aliceWeb, daveWeb] = await Promise.all([webClient(alice), webClient(dave)]);
    const panel = new RoomMembers(aliceWeb, room.id);
    cleanups.push(() => panel.close());
    const shown = () => [...panel.members.value.values()].map((m) => `${m.user.name} ${m.role}`).sort();
    await waitFor(() => panel.status.value === 'done', 'alice’s members panel to load');
    expect(shown()).toHaveLength(6);
    const aliceOnB = await client(new ParleyApi(b.url, { token: alice.token }));

    await redis().stop();
    try {
      // Every change goes through node A while Redis is away: B hears none of them live.
      await new RoomApi(erin.api).join(room.id);
      await rooms.invite(room.id, [frank.user.id]);
      await new RoomApi(bob.api).leave(room.id);
      await rooms.remove(room.id, carol.user.id);
      await rooms.setRole(room.id, gina.user.id, 'admin');
      await rooms.remove(room.id, dave.user.id);
    } finally {
      await redis().restart();
    }
    const now = await listed();
    expect(now).toEqual(['alice member', 'erin member', 'frank member', 'gina admin', 'olga owner']);

    await waitFor(() => JSON.stringify(shown()) === JSON.stringify(now), 'alice’s members panel on B to show the room’s members as they are now', 30_000);
    expect(shown()).toEqual(now);
    await waitFor(() => aliceWeb.summary(room.id)?.room?.memberCount === 5, 'alice’s web client on B to count 5 members', 30_000);
    await waitFor(() => daveWeb.removal.value !== null, 'dave’s web client on B to be told he was removed', 30_000);
    expect(daveWeb.removal.value).toEqual({ conv: room.id, room: 'Outage club', by: olga.user });
    expect(daveWeb.summary(room.id)).toBeUndefined();
    // Off the wire: each change reached alice once, at its rev.
    await waitFor(() => aliceOnB.frames.filter((frame) => frame.type === 'member').length >= 6, 'alice’s recording client to get every change');
    const revs = aliceOnB.frames.filter((frame) => frame.type === 'member' && frame.conv === room.id).map((frame) => `${(frame.user as { name: string }).name} ${frame.rev}`);
    expect(revs.filter((key, i) => revs.indexOf(key) !== i)).toEqual([]);
    expect(new Set(revs.map((key) => key.split(' ')[0])).size).toBe(revs.length);
  }, 60_000);

  it('grants a user one send budget across the nodes, not one per node', async () => {
    const [a, b] = await cluster(['--send-rate', '1', '--send-burst', '4']);
    const alice = await registerUser(a.url, 'alice');
    const onA = alice.api;
    const onB = new ParleyApi(b.url, { token: alice.token });
    for (const [i, api] of [onA, onB, onA, onB].entries()) await api.send(WORLD, `m${i}`, `c${i}`);
    await expect(onB.send(WORLD, 'one too many', 'c4')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await expect(onA.send(WORLD, 'one too many', 'c5')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('knows a device that logged in through one node on every node, so strangers guessing do not hold its owner back', async () => {
    const [a, b] = await cluster(['--trust-proxy', '127.0.0.1']);
    await registerUser(a.url, 'teacher');
    const login = (node: TestServer, password: string, address: string, cookie?: string) =>
      rawRequest(node.url, {
        method: 'POST',
        path: '/api/login',
        body: JSON.stringify({ name: 'teacher', password }),
        headers: { 'content-type': 'application/json', 'x-forwarded-for': address, ...(cookie ? { cookie } : {}) },
      });
    const first = await login(a, PASSWORD, '198.51.100.7');
    expect(first.status).toBe(200);
    const deviceCookie = ((first.headers['set-cookie'] as string[]) ?? []).find((cookie) => cookie.startsWith('parley_device='))!.split(';')[0]!;
    // A stranger on a shared address fails five times through node B: that address is held for unknown devices, on both nodes.
    for (let i = 0; i < 5; i++) expect((await login(b, `guess-${i}-guess`, '203.0.113.9')).code).toBe('WRONG_CREDENTIALS');
    expect((await login(a, PASSWORD, '203.0.113.9')).status).toBe(429);
    // The owner's device, known since the login through A, gets in through B from that same address.
    expect((await login(b, PASSWORD, '203.0.113.9', deviceCookie)).status).toBe(200);
  });
});
