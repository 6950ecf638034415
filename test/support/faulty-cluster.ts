/**
 * The cluster the fault tests break (test/cluster-faults.test.ts, test/cluster-kills.test.ts):
 * three `parley serve` nodes on one private PostgreSQL and one private Redis, each behind a front
 * door (a loopback port its clients keep) that passes connections to that node or, while it is
 * dead, to a surviving one, as a load balancer would; the send load the tests put on it, and the
 * checks of what is stored and what each client was handed.
 */
import { afterEach, expect } from 'vitest';
import { ParleyApi } from '../../src/client/api.ts';
import { WORLD, dmId, type Message } from '../../src/protocol/index.ts';
import { allMessages, registerUser } from './clients.ts';
import { digestOf, startNode, type WireClient } from './cluster-nodes.ts';
import { startFrontDoor } from './front-door.ts';
import { privatePostgres } from './postgres.ts';
import { privateRedis } from './redis.ts';

export const NODES = 3;
/** Sends each sender keeps going at once. */
export const BATCH = 8;
/** Every node's send limit, out of the way: the load is ~50 clients sending as fast as they may. */
const FLAGS = ['--send-rate', '100000', '--send-burst', '100000'];

type Node = Awaited<ReturnType<typeof startNode>>;

/**
 * Called inside a `describe`: the private PostgreSQL and Redis of its tests, put back (started
 * again) after each test, and what each test then builds on them. `cleanups` run after each test,
 * last first.
 */
export function faultyCluster() {
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

  return { postgres, redis, cleanups, cluster, users };
}

/** Connects every client and resolves once each has caught up (its first sync). */
export async function connectAll(clients: readonly WireClient[]): Promise<void> {
  await Promise.all(
    clients.map((client) => {
      const synced = client.synced();
      client.session.connect();
      return synced;
    }),
  );
}

/** Reads a conversation's history as one of its members (anyone for the world) through `url`. */
export function memberReader(people: { token: string; user: { id: number } }[], url: string) {
  return (conv: string) => {
    const member = conv === WORLD ? people[0]! : people.find((person) => conv.split(':').includes(String(person.user.id)))!;
    return new ParleyApi(url, { token: member.token });
  };
}

/**
 * Each sender sends to the world and to a DM with the next sender, `BATCH` at a time, until
 * told to stop; every send and its ack are recorded.
 */
export function sendLoad(senders: { client: WireClient; id: number }[]) {
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
export async function expectStoredExactlyOnce(reader: (conv: string) => ParleyApi, sent: ReturnType<typeof sendLoad>['sent']) {
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
export function expectCaughtUp(who: string, client: WireClient, byConv: Map<string, Message[]>, convs: string[]) {
  for (const conv of convs) {
    const got = client.messages.filter((message) => message.conv === conv).map((message) => `${message.seq} ${message.clientId}`);
    const first = client.messages.find((message) => message.conv === conv)?.seq ?? 1;
    const expected = byConv.get(conv)!.filter((message) => message.seq >= first).map((message) => `${message.seq} ${message.clientId}`);
    expect({ who, conv, got }).toEqual({ who, conv, got: expected });
  }
}

/** The same, for a client that kept only digests: the digest of what it was handed equals the stored history's from its first message on. */
export function expectCaughtUpByDigest(who: string, client: WireClient, byConv: Map<string, Message[]>, convs: string[]) {
  for (const conv of convs) {
    const got = client.digest(conv);
    const first = got?.first ?? 1;
    const expected = digestOf(byConv.get(conv)!.filter((message) => message.seq >= first));
    expect({ who, conv, got }).toEqual({ who, conv, got: expected });
  }
}

/** A client's last message of `conv` has reached `seq`. */
export const reached = (client: WireClient, conv: string, seq: number) => (client.digest(conv)?.last ?? 0) >= seq;


/** Polls an async check every 100 ms until it holds, or fails after `timeoutMs`. */
export async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

