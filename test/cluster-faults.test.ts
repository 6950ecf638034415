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
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { WORLD, dmId, type Message } from '../src/protocol/index.ts';
import { registerUser, waitFor } from './support/clients.ts';
import { digestOf, startNode, wireClient, type WireClient } from './support/cluster-nodes.ts';
import { startFrontDoor } from './support/front-door.ts';
import { hasPostgres, TestPostgres } from './support/postgres.ts';
import { hasRedis, startRedis, type PrivateRedis } from './support/redis.ts';

const KILLS = Math.max(1, Number(process.env.PARLEY_KILLS) || (process.env.PARLEY_FULL_TESTS === '1' ? 10 : 3));
const NODES = 3;
/** Senders per node (so ~50 in all), and sends each keeps going at once. */
const SENDERS_PER_NODE = 16;
const BATCH = 8;
/** docs/ARCHITECTURE.md, "Presence across nodes": a dead node's users are offline at most 20 s after it died. */
const OFFLINE_WITHIN_MS = 20_000;
const FLAGS = ['--send-rate', '100000', '--send-burst', '100000'];

async function allMessages(api: ParleyApi, conv: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (let before: number | undefined; ; ) {
    const page = await api.history(conv, { limit: 100, ...(before ? { before } : {}) });
    messages.unshift(...page.messages);
    if (!page.hasMore) return messages;
    before = page.messages[0]!.seq;
  }
}

type Node = Awaited<ReturnType<typeof startNode>>;

describe.runIf(hasPostgres && hasRedis)('a cluster of three nodes under faults', () => {
  let postgres: TestPostgres;
  let redis: PrivateRedis;
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    [postgres, redis] = await Promise.all([TestPostgres.start(), startRedis()]);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await Promise.all([postgres.restart(), redis.restart().then(() => undefined)]).catch(() => {});
  });
  afterAll(async () => {
    await Promise.all([postgres?.destroy(), redis?.close()]);
  });

  /** Three nodes, each behind its own front door; a dead node's door leads to the next live one. */
  async function cluster() {
    const database = await postgres.createDatabase();
    const nodes: (Node | null)[] = await Promise.all(Array.from({ length: NODES }, () => startNode(database, redis.url, FLAGS)));
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
        nodes[k] = await startNode(database, redis.url, FLAGS);
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
    await redis.stop();
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
    await redis.restart();
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

  it('answers sends with STORE_UNAVAILABLE, never a false ack, while PostgreSQL is stopped for 10 s; retried with the same client id afterwards, each is stored once', async () => {
    const c = await cluster();
    const people = await users(c.direct, 'writer', 2 * NODES);
    const clients = people.map((person, i) => wireClient(c.direct(i % NODES), person.token, { record: 'digest' }));
    cleanups.push(() => clients.forEach((client) => client.close()));
    await Promise.all(clients.map((client) => {
      const synced = client.synced();
      client.session.connect();
      return synced;
    }));
    const sent = new Map<string, { conv: string; text: string; sender: number; ack?: { seq: number; conv: string } }>();
    const refusals: string[] = [];
    const state = { stopping: false, acked: 0 };
    // Each writer sends one message after another; a refused one is sent again, same client id, until acknowledged.
    const loops = clients.map(async (client, i) => {
      for (let n = 0; !state.stopping; n++) {
        const clientId = `w${i}m${n}`;
        const conv = n % 2 === 0 ? WORLD : dmId(people[i]!.user.id, people[(i + 1) % people.length]!.user.id);
        const text = `writer ${i}, message ${n}`;
        sent.set(clientId, { conv, text, sender: people[i]!.user.id });
        for (;;) {
          try {
            const ack = await client.session.send(conv, text, clientId);
            sent.get(clientId)!.ack = { seq: ack.seq, conv: ack.conv };
            state.acked++;
            break;
          } catch (error) {
            refusals.push((error as { code?: string }).code ?? String(error));
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
      }
    });
    await waitFor(() => state.acked >= 60, '60 acknowledgements before PostgreSQL stops', 60_000);
    await postgres.stop('fast');
    const stoppedAt = state.acked;
    await waitFor(() => refusals.length >= clients.length, 'sends to be refused while PostgreSQL is away', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the outage itself, not a check
    // Nothing was acknowledged that could not have been stored (at most the sends already in a commit when it stopped).
    expect(state.acked - stoppedAt).toBeLessThanOrEqual(clients.length);
    await postgres.restart();
    const after = state.acked + 60;
    await waitFor(() => state.acked >= after, 'sends to be acknowledged again once PostgreSQL is back', 60_000);
    state.stopping = true;
    await Promise.all(loops);

    expect(new Set(refusals)).toEqual(new Set(['STORE_UNAVAILABLE']));
    const reader = (conv: string) => {
      const member = conv === WORLD ? people[0]! : people.find((person) => conv.split(':').includes(String(person.user.id)))!;
      return new ParleyApi(c.direct(0), { token: member.token });
    };
    const { stored } = await expectStoredExactlyOnce(reader, sent);
    expect(stored.size).toBe(sent.size);
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
