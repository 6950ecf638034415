/**
 * The cluster under faults, with real processes (issue 11, "How it is checked"): a node killed
 * with SIGKILL while ~50 clients on all nodes send as fast as they may, Redis stopped under load,
 * PostgreSQL stopped. Nodes are `parley serve` processes on one private PostgreSQL and one
 * private Redis; each node has a front door (a loopback port its clients keep) that passes
 * connections to that node, or, while it is dead, to a surviving one, as a load balancer would.
 *
 * `npm test` kills a node 3 times; `PARLEY_FULL_TESTS=1` (CI's full-size step) 10 times,
 * `PARLEY_KILLS=<n>` any number.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import type { SendsDelayed } from '../src/client/session.ts';
import { STORE_RETRY_MAX_MS } from '../src/client/store-retry.ts';
import { WORLD, dmId, type Message } from '../src/protocol/index.ts';
import { allMessages, registerUser, waitFor } from './support/clients.ts';
import { digestOf, startNode, wireClient, type WireClient } from './support/cluster-nodes.ts';
import { startFrontDoor } from './support/front-door.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { hasRedis, privateRedis } from './support/redis.ts';

const KILLS = Math.max(1, Number(process.env.PARLEY_KILLS) || (process.env.PARLEY_FULL_TESTS === '1' ? 10 : 3));
const NODES = 3;
/** Senders per node (so ~50 in all), and sends each keeps going at once. */
const SENDERS_PER_NODE = 16;
const BATCH = 8;
/** docs/ARCHITECTURE.md, "Presence across nodes": a dead node's users are offline at most 20 s after it died. */
const OFFLINE_WITHIN_MS = 20_000;
const FLAGS = ['--send-rate', '100000', '--send-burst', '100000'];


type Node = Awaited<ReturnType<typeof startNode>>;

describe.runIf(hasPostgres && hasRedis)('a cluster of three nodes under faults', () => {
  const postgres = privatePostgres();
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await Promise.all([postgres().restart(), redis().restart().then(() => undefined)]).catch(() => {});
  });

  /** Three nodes, each behind its own front door; a dead node's door leads to the next live one. */
  async function cluster() {
    const database = await postgres().createDatabase();
    const nodes: (Node | null)[] = await Promise.all(Array.from({ length: NODES }, () => startNode(database, redis().url, FLAGS)));
    cleanups.push(() => Promise.all(nodes.map((node) => node?.close())));
    const doors = await Promise.all(
      nodes.map((_, k) =>
        startFrontDoor(() => {
          for (let step = 0; step < NODES; step++) {
            const node = nodes[(k + step) % NODES];
            if (node) return node.process.port;
          }
          return 1; // nothing listens: the connection is refused
        }),
      ),
    );
    cleanups.push(() => Promise.all(doors.map((door) => door.close())));
    return {
      nodes,
      database,
      door: (k: number) => `http://127.0.0.1:${doors[k]!.port}`,
      direct: (k: number) => nodes[k]!.url,
      async kill(k: number) {
        const node = nodes[k]!;
        nodes[k] = null;
        await node.close();
      },
      async restart(k: number) {
        nodes[k] = await startNode(database, redis().url, FLAGS);
      },
    };
  }

  /** Registers `count` users spread over the nodes; user i belongs to node i % NODES. */
  async function users(url: (k: number) => string, prefix: string, count: number) {
    return Promise.all(Array.from({ length: count }, (_, i) => registerUser(url(i % NODES), `${prefix}${i}`)));
  }

  /**
   * Each sender sends to the world and to a DM with the next sender, `BATCH` at a time, until
   * told to stop; every send and its ack are recorded.
   */
  function sendLoad(senders: { client: WireClient; id: number }[]) {
    const sent = new Map<string, { conv: string; text: string; sender: number; ack?: { seq: number; conv: string } }>();
    const state = { acked: 0, stopping: false, failures: [] as unknown[] };
    const loops = senders.map(async ({ client, id }, i) => {
      const convs = [WORLD, dmId(id, senders[(i + 1) % senders.length]!.id)];
      for (let n = 0; !state.stopping; n += BATCH) {
        await Promise.all(
          Array.from({ length: BATCH }, (_, k) => {
            const clientId = `s${i}m${n + k}`;
            const conv = convs[(n + k) % 2]!;
            const text = `sender ${i}, message ${n + k}`;
            sent.set(clientId, { conv, text, sender: id });
            return client.session.send(conv, text, clientId).then(
              (ack) => {
                sent.get(clientId)!.ack = { seq: ack.seq, conv: ack.conv };
                state.acked++;
              },
              (error: unknown) => state.failures.push(error),
            );
          }),
        );
      }
    });
    return { sent, state, done: () => Promise.all(loops) };
  }

  /** Every acknowledged send is stored once, at its acked seq; seqs are gap-free. Returns what is stored per conversation. */
  async function expectStoredExactlyOnce(reader: (conv: string) => ParleyApi, sent: ReturnType<typeof sendLoad>['sent']) {
    const convs = new Set([...sent.values()].map((send) => send.conv));
    const stored = new Map<string, Message>();
    const byConv = new Map<string, Message[]>();
    for (const conv of convs) {
      const messages = await allMessages(reader(conv), conv);
      byConv.set(conv, messages);
      expect([conv, messages.map((message) => message.seq)]).toEqual([conv, messages.map((_, i) => i + 1)]);
      for (const message of messages) {
        expect(stored.has(message.clientId)).toBe(false);
        stored.set(message.clientId, message);
      }
    }
    for (const [clientId, send] of sent) {
      if (!send.ack) continue;
      const message = stored.get(clientId);
      expect({ clientId, conv: message?.conv, seq: message?.seq, text: message?.text, sender: message?.sender.id }).toEqual({
        clientId,
        conv: send.conv,
        seq: send.ack.seq,
        text: send.text,
        sender: send.sender,
      });
    }
    return { stored, byConv };
  }

  /** What a client was handed, per conversation, is exactly what is stored from its first message on: none missing, none twice, in order. */
  function expectCaughtUp(who: string, client: WireClient, byConv: Map<string, Message[]>, convs: string[]) {
    for (const conv of convs) {
      const got = client.messages.filter((message) => message.conv === conv).map((message) => `${message.seq} ${message.clientId}`);
      const first = client.messages.find((message) => message.conv === conv)?.seq ?? 1;
      const expected = byConv.get(conv)!.filter((message) => message.seq >= first).map((message) => `${message.seq} ${message.clientId}`);
      expect({ who, conv, got }).toEqual({ who, conv, got: expected });
    }
  }

  /** The same, for a client that kept only digests: the digest of what it was handed equals the stored history's from its first message on. */
  function expectCaughtUpByDigest(who: string, client: WireClient, byConv: Map<string, Message[]>, convs: string[]) {
    for (const conv of convs) {
      const got = client.digest(conv);
      const first = got?.first ?? 1;
      const expected = digestOf(byConv.get(conv)!.filter((message) => message.seq >= first));
      expect({ who, conv, got }).toEqual({ who, conv, got: expected });
    }
  }

  /** A client's last message of `conv` has reached `seq`. */
  const reached = (client: WireClient, conv: string, seq: number) => (client.digest(conv)?.last ?? 0) >= seq;

  it(
    `keeps every acknowledged message exactly once across ${KILLS} SIGKILLs of a node under load; the dead node's clients catch up exactly through another node, and its users who do not come back go offline within 20 s`,
    async () => {
      const c = await cluster();
      const people = await users(c.door, 'sender', SENDERS_PER_NODE * NODES);
      // Digests only: ten kills under load put some 100,000 messages through each client.
      const senders = people.map((person, i) => ({ client: wireClient(c.door(i % NODES), person.token, { record: 'digest' }), id: person.user.id }));
      cleanups.push(() => senders.forEach(({ client }) => client.close()));
      await Promise.all(senders.map(({ client }) => {
        const synced = client.synced();
        client.session.connect();
        return synced;
      }));
      const load = sendLoad(senders);
      const observer = new ParleyApi(c.door(0), { token: people[0]!.token });

      for (let kill = 1; kill <= KILLS; kill++) {
        const k = (kill - 1) % NODES;
        // Users on node k who will not come back after it dies: connected straight to it, no reconnecting.
        const leavers = await Promise.all([0, 1].map((i) => registerUser(c.direct(k), `gone${kill}-${i}`)));
        const gone = leavers.map((leaver) => leaver.user.name);
        const leaverClients = leavers.map((leaver) => {
            const client = wireClient(c.direct(k), leaver.token, { record: 'digest' });
            client.session.connect();
            return client;
          });
        cleanups.push(() => leaverClients.forEach((client) => client.close()));
        const onlineNames = async () => (await observer.online()).online.map((user) => user.name);
        for (const name of gone) await pollUntil(async () => (await onlineNames()).includes(name), `${name} online before kill ${kill}`);

        const target = load.state.acked + 150;
        await waitFor(() => load.state.acked >= target, `${target} acknowledgements before kill ${kill}`, 60_000);
        const pending = load.sent.size - load.state.acked;
        expect(pending).toBeGreaterThan(0); // the kill lands among sends on the wire
        const killedAt = Date.now();
        await c.kill(k);

        // The rest goes on: its clients come back through the door to another node, and sends flow again.
        const resumed = load.state.acked + 150;
        await waitFor(() => load.state.acked >= resumed, `sends to flow again after kill ${kill}`, 60_000);

        // Its users who do not come back are offline on every surviving node within the documented time.
        for (const live of [0, 1, 2].filter((n) => n !== k)) {
          const viewer = new ParleyApi(c.direct(live), { token: people[live]!.token });
          await pollUntil(
            async () => !(await viewer.online()).online.some((user) => gone.includes(user.name)),
            `${gone.join(', ')} offline on node ${live} after kill ${kill}`,
            killedAt + OFFLINE_WITHIN_MS + 1_000 - Date.now(),
          );
        }
        leaverClients.forEach((client) => client.close());
        await c.restart(k);
      }
      const afterLast = load.state.acked + 150;
      await waitFor(() => load.state.acked >= afterLast, 'sends to go on after the last restart', 60_000);
      load.state.stopping = true;
      await load.done();
      expect(load.state.failures).toEqual([]);
      expect(load.state.acked).toBe(load.sent.size);

      const reader = (conv: string) => {
        const member = conv === WORLD ? people[0]! : people.find((person) => conv.split(':').includes(String(person.user.id)))!;
        return new ParleyApi(c.direct(0), { token: member.token });
      };
      const { byConv } = await expectStoredExactlyOnce(reader, load.sent);

      // Every sender, wherever it ended up, holds exactly the stored history of its conversations.
      const lastOf = (conv: string) => byConv.get(conv)!.at(-1)!.seq;
      for (const [i, { client, id }] of senders.entries()) {
        const convs = [...byConv.keys()].filter((conv) => conv === WORLD || conv.split(':').slice(1).includes(String(id)));
        for (const conv of convs) await waitFor(() => reached(client, conv, lastOf(conv)), `sender ${i} to reach the end of ${conv}`, 30_000);
        expectCaughtUpByDigest(`sender ${i}`, client, byConv, convs);
      }
    },
    // Ten kills took 492 s in a quiet CI run (about 37 s each): a minute per kill leaves room for a slower machine.
    120_000 + KILLS * 60_000,
  );

  it('loses no acknowledged message while Redis is stopped for 10 s under load, and afterwards every client holds the same history, nothing delivered twice', async () => {
    const c = await cluster();
    const people = await users(c.direct, 'talker', 4 * NODES);
    const senders = people.map((person, i) => ({ client: wireClient(c.direct(i % NODES), person.token), id: person.user.id }));
    cleanups.push(() => senders.forEach(({ client }) => client.close()));
    await Promise.all(senders.map(({ client }) => {
      const synced = client.synced();
      client.session.connect();
      return synced;
    }));
    const load = sendLoad(senders);
    await waitFor(() => load.state.acked >= 100, '100 acknowledgements before Redis stops', 60_000);
    await redis().stop();
    const duringOutage = load.state.acked + 100;
    await waitFor(() => load.state.acked >= duringOutage, 'sends to be acknowledged while Redis is away (the database is up)', 30_000);
    // A quiet conversation: talker 1 (node 1) writes to talker 3 (node 0) for the first and only
    // time while Redis is away. No later message will show node 0 the hole; it must find it itself.
    const quiet = { conv: dmId(senders[1]!.id, senders[3]!.id), text: 'only once, while Redis is away', sender: senders[1]!.id };
    // That DM begins with this message: talker 3 must also be told of the conversation (a state change Redis lost).
    const toldOf: string[] = [];
    senders[3]!.client.session.on('conversation', (conversation) => toldOf.push(conversation.id));
    load.sent.set('quiet', quiet);
    const quietAck = await senders[1]!.client.session.send(quiet.conv, quiet.text, 'quiet');
    load.sent.set('quiet', { ...quiet, ack: { seq: quietAck.seq, conv: quietAck.conv } });
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the outage itself, not a check
    await redis().restart();
    const after = load.state.acked + 200;
    await waitFor(() => load.state.acked >= after, 'sends to go on after Redis is back', 60_000);
    load.state.stopping = true;
    await load.done();
    expect(load.state.failures).toEqual([]);

    const reader = (conv: string) => {
      const member = conv === WORLD ? people[0]! : people.find((person) => conv.split(':').includes(String(person.user.id)))!;
      return new ParleyApi(c.direct(0), { token: member.token });
    };
    const { byConv } = await expectStoredExactlyOnce(reader, load.sent);
    const lastOf = (conv: string) => byConv.get(conv)!.at(-1)!.seq;
    await waitFor(() => toldOf.includes(quiet.conv), 'talker 3 to be told of the DM begun while Redis was away', 30_000);
    for (const [i, { client, id }] of senders.entries()) {
      const convs = [...byConv.keys()].filter((conv) => conv === WORLD || conv.split(':').slice(1).includes(String(id)));
      for (const conv of convs) await waitFor(() => client.messages.some((message) => message.conv === conv && message.seq === lastOf(conv)), `talker ${i} to reach the end of ${conv}`, 30_000);
      expectCaughtUp(`talker ${i}`, client, byConv, convs);
      // Off the wire too: the node filled what Redis lost, and sent nothing twice.
      for (const conv of convs) {
        const wire = client.wire.filter((message) => message.conv === conv).map((message) => message.seq);
        expect({ who: `talker ${i}`, conv, twice: wire.filter((seq, n) => wire.indexOf(seq) !== n) }).toEqual({ who: `talker ${i}`, conv, twice: [] });
      }
    }
    expect(toldOf.filter((conv) => conv === quiet.conv)).toEqual([quiet.conv]);
  }, 150_000);

  it('keeps sends pending while PostgreSQL is stopped for 10 s (refused with STORE_UNAVAILABLE, never a false ack); the clients send them again with the same client ids once it is back, and each is stored once, in the order its writer wrote', async () => {
    const c = await cluster();
    const people = await users(c.direct, 'writer', 2 * NODES);
    const clients = people.map((person, i) => wireClient(c.direct(i % NODES), person.token, { record: 'digest' }));
    cleanups.push(() => clients.forEach((client) => client.close()));
    await Promise.all(clients.map((client) => {
      const synced = client.synced();
      client.session.connect();
      return synced;
    }));
    // Which clients the library told that their sends wait for the database, and which that they flow again.
    const delays: SendsDelayed[] = [];
    const delayed = new Set<number>();
    const flowing = new Set<number>();
    clients.forEach((client, i) => {
      client.session.on('sendsDelayed', (delay) => (delays.push(delay), delayed.add(i)));
      client.session.on('sendsFlowing', () => flowing.add(i));
    });
    // Each writer keeps BATCH sends going at once; the library re-sends a refused one by itself, so none may fail.
    const load = sendLoad(clients.map((client, i) => ({ client, id: people[i]!.user.id })));
    const ackedIds = () => new Set([...load.sent].filter(([, send]) => send.ack).map(([clientId]) => clientId));
    await waitFor(() => load.state.acked >= 60, '60 acknowledgements before PostgreSQL stops', 60_000);
    await postgres().stop('fast');
    const ackedBefore = ackedIds();
    await waitFor(() => delayed.size === clients.length, 'every client to be told its sends wait for the database', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the outage itself, not a check
    const ackedWhileAway = [...ackedIds()].filter((clientId) => !ackedBefore.has(clientId));
    // Nothing was acknowledged that could not have been stored (at most the sends already in a commit when it stopped).
    expect(ackedWhileAway.length).toBeLessThanOrEqual(clients.length * BATCH);
    expect(flowing.size).toBe(0);
    expect(load.state.failures).toEqual([]);
    await postgres().restart();
    const after = load.state.acked + 60;
    await waitFor(() => load.state.acked >= after && flowing.size === clients.length, 'sends to be acknowledged on every client once PostgreSQL is back', 60_000);
    load.state.stopping = true;
    await load.done();

    expect(load.state.failures).toEqual([]);
    expect(new Set(delays.map((delay) => delay.reason))).toEqual(new Set(['STORE_UNAVAILABLE']));
    // The waits follow the server's hint (1000 ms) and grow while the database stays away, capped.
    expect(Math.min(...delays.map((delay) => delay.retryInMs))).toBe(1000);
    expect(Math.max(...delays.map((delay) => delay.retryInMs))).toBeLessThanOrEqual(STORE_RETRY_MAX_MS);
    expect(Math.max(...delays.map((delay) => delay.retryInMs))).toBeGreaterThan(2000);
    const reader = (conv: string) => {
      const member = conv === WORLD ? people[0]! : people.find((person) => conv.split(':').includes(String(person.user.id)))!;
      return new ParleyApi(c.direct(0), { token: member.token });
    };
    const { stored } = await expectStoredExactlyOnce(reader, load.sent);
    // Every send was acknowledged in the end, and is stored; a send acknowledged during the outage too, at its acked seq.
    expect([...load.sent.values()].filter((send) => !send.ack)).toEqual([]);
    expect(stored.size).toBe(load.sent.size);
    for (const clientId of ackedWhileAway) expect([clientId, stored.get(clientId)?.seq]).toEqual([clientId, load.sent.get(clientId)!.ack!.seq]);
    // Never reordered, by the retries or by the server: per writer and conversation, what was written later has the higher seq.
    for (const [i] of clients.entries()) {
      for (const conv of new Set([...load.sent.values()].filter((send) => send.sender === people[i]!.user.id).map((send) => send.conv))) {
        const mine = [...stored.values()].filter((message) => message.sender.id === people[i]!.user.id && message.conv === conv);
        const bySeq = mine.sort((a, b) => a.seq - b.seq).map((message) => Number(message.clientId.split('m')[1]));
        expect({ writer: i, conv, order: bySeq }).toEqual({ writer: i, conv, order: [...bySeq].sort((a, b) => a - b) });
      }
    }
  }, 150_000);
});

/** Polls an async check every 100 ms until it holds, or fails after `timeoutMs`. */
async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
