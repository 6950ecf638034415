/**
 * Three real `parley serve` processes on one PostgreSQL and one Redis, clients spread over them
 * (issue 11, "How it is checked", the first point): world, DM and room messages reach every
 * member once and in the same order whichever node they sit on, and presence and unread counts
 * read the same from every node.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { RoomApi } from '../src/client/rooms.ts';
import { WORLD, dmId, type Message } from '../src/protocol/index.ts';
import { allMessages, registerUser, waitFor } from './support/clients.ts';
import { startNode, wireClient, type WireClient } from './support/cluster-nodes.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { hasRedis, privateRedis } from './support/redis.ts';

const USERS = 6;
const PER_CONV = 5;


describe.runIf(hasPostgres && hasRedis)('three nodes on PostgreSQL and Redis', () => {
  const postgres = privatePostgres();
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('delivers world, DM and room messages to every member once and in one order on every node, and every node tells the same presence and unread counts', async () => {
    const database = await postgres().createDatabase();
    const nodes = await Promise.all([0, 1, 2].map(() => startNode(database, redis().url, ['--send-rate', '100000', '--send-burst', '100000'])));
    cleanups.push(...nodes.map((node) => () => node.close()));
    // User i lives on node i % 3: registered there, connected there.
    const users: Awaited<ReturnType<typeof registerUser>>[] = [];
    for (let i = 0; i < USERS; i++) users.push(await registerUser(nodes[i % 3]!.url, `user${i}`));
    const room = await new RoomApi(users[0]!.api).create({ name: 'three nodes', visibility: 'private', invite: users.slice(1).map((u) => u.user.id) });
    const dms = [dmId(users[0]!.user.id, users[1]!.user.id), dmId(users[2]!.user.id, users[4]!.user.id), dmId(users[5]!.user.id, users[3]!.user.id)];
    const convsOf = (i: number) => [WORLD, room.id, ...dms.filter((dm) => dm.split(':').slice(1).map(Number).includes(users[i]!.user.id))];

    const clients: WireClient[] = users.map((user, i) => wireClient(nodes[i % 3]!.url, user.token));
    cleanups.push(() => clients.forEach((client) => client.close()));
    await Promise.all(clients.map((client) => {
      const synced = client.synced();
      client.session.connect();
      return synced;
    }));

    // Presence: every node answers "who is online" with all six, wherever they connected.
    const everyone = users.map((user) => user.user.name).sort();
    const onlineAt = async (node: number) => (await new ParleyApi(nodes[node]!.url, { token: users[0]!.token }).online()).online.map((user) => user.name).sort();
    await expectEventually(async () => [await onlineAt(0), await onlineAt(1), await onlineAt(2)], [everyone, everyone, everyone], 'all six online on every node');

    // The base: what each conversation held before (the room's system messages; a DM starts with its first message).
    const base = new Map<string, number>(dms.map((dm) => [dm, 0]));
    for (const conv of [WORLD, room.id]) base.set(conv, (await allMessages(users[0]!.api, conv)).length);

    // Everyone sends at once to each of their conversations, over the socket of their own node.
    await Promise.all(clients.flatMap((client, i) =>
      convsOf(i).flatMap((conv, c) => Array.from({ length: PER_CONV }, (_, k) => client.session.send(conv, `user${i} in ${conv} #${k}`, `u${i}-c${c}-${k}`))),
    ));

    const stored = new Map<string, Message[]>();
    for (const conv of [WORLD, room.id, ...dms]) {
      const member = users.find((_, i) => convsOf(i).includes(conv))!;
      stored.set(conv, await allMessages(member.api, conv));
    }
    for (const [conv, messages] of stored) {
      expect([conv, messages.map((message) => message.seq)]).toEqual([conv, messages.map((_, i) => i + 1)]);
      const senders = conv === WORLD || conv === room.id ? USERS : 2;
      expect([conv, messages.length - base.get(conv)!]).toEqual([conv, senders * PER_CONV]);
    }

    // Every member, on every node, got each new message once, in seq order, off the wire.
    const fresh = (messages: Message[], conv: string) => messages.filter((message) => message.conv === conv && message.seq > base.get(conv)!).map((message) => `${message.seq} ${message.clientId} ${message.text}`);
    for (const [i, client] of clients.entries()) {
      for (const conv of convsOf(i)) {
        const expected = fresh(stored.get(conv)!, conv);
        await waitFor(() => fresh(client.messages, conv).length >= expected.length, `user${i} (node ${i % 3}) to get all of ${conv}`);
        expect({ user: i, conv, wire: fresh(client.wire, conv) }).toEqual({ user: i, conv, wire: expected });
        expect({ user: i, conv, delivered: fresh(client.messages, conv) }).toEqual({ user: i, conv, delivered: expected });
      }
    }

    // Unread counts: every node tells user1 the same, and the same as the stored messages say
    // (others' messages after the read position); user1 reads the room on node 1, every node sees it.
    const me = users[1]!.user.id;
    const unreadAt = async (node: number) => {
      const { conversations } = await new ParleyApi(nodes[node]!.url, { token: users[1]!.token }).conversations();
      return Object.fromEntries(conversations.map((summary) => [summary.id, { readSeq: summary.readSeq, unread: summary.unread }]));
    };
    const before = await unreadAt(1);
    for (const conv of convsOf(1)) {
      const readSeq = before[conv]!.readSeq;
      const unread = stored.get(conv)!.filter((message) => message.seq > readSeq && message.sender.id !== me && !message.system).length;
      expect({ conv, unread: before[conv]!.unread }).toEqual({ conv, unread });
    }
    expect(before[room.id]!.unread).toBeGreaterThan(0);
    expect([await unreadAt(0), await unreadAt(2)]).toEqual([before, before]);
    const roomEnd = stored.get(room.id)!.at(-1)!.seq;
    clients[1]!.session.markRead(room.id, roomEnd);
    const after = { ...before, [room.id]: { readSeq: roomEnd, unread: 0 } };
    await expectEventually(async () => [await unreadAt(0), await unreadAt(1), await unreadAt(2)], [after, after, after], 'user1 has read the room on every node');

    // And nothing of a conversation a user is not in, proven by a barrier rather than by the time
    // spent: a world message sent from each node after everything else. A node publishes in the
    // order it commits, so once a client holds all three, whatever any node sent before them has
    // reached it, and anything of another conversation would be in its wire log by now.
    const barriers = [0, 1, 2].map((node) => `barrier from node ${node}`);
    await Promise.all(barriers.map((text, node) => clients[node]!.session.send(WORLD, text)));
    for (const [i, client] of clients.entries()) {
      await waitFor(() => barriers.every((text) => client.wire.some((message) => message.text === text)), `user${i} to get the three barriers`);
      expect({ user: i, others: client.wire.filter((message) => !convsOf(i).includes(message.conv)) }).toEqual({ user: i, others: [] });
    }

    // Presence again: user5 (node 2) leaves; every node says so.
    clients[5]!.close();
    const rest = everyone.filter((name) => name !== 'user5');
    await expectEventually(async () => [await onlineAt(0), await onlineAt(1), await onlineAt(2)], [rest, rest, rest], 'user5 offline on every node');
    for (const [i, client] of clients.entries()) {
      if (i === 5) continue;
      await waitFor(() => client.presence.some((change) => change.user.name === 'user5' && !change.online), `user${i} to hear user5 left`);
    }
  }, 90_000);
});

/** Polls an async reading until it equals `expected`, then asserts it (so a failure shows the last reading). */
async function expectEventually<T>(read: () => Promise<T>, expected: T, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  expect(last, what).toEqual(expected);
}
