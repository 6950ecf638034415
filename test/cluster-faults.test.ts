/**
 * The cluster while the parts it stands on fail (issue 11, "How it is checked"): Redis stopped
 * for 10 s under load, PostgreSQL stopped for 10 s under load. The cluster is
 * test/support/faulty-cluster.ts; its nodes killed is test/cluster-kills.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { SendsDelayed } from '../src/client/session.ts';
import { STORE_RETRY_MAX_MS } from '../src/client/store-retry.ts';
import { WORLD, dmId } from '../src/protocol/index.ts';
import { waitFor } from './support/clients.ts';
import { wireClient } from './support/cluster-nodes.ts';
import { BATCH, connectAll, expectCaughtUp, expectStoredExactlyOnce, faultyCluster, memberReader, NODES, sendLoad } from './support/faulty-cluster.ts';
import { hasPostgres } from './support/postgres.ts';
import { hasRedis } from './support/redis.ts';

describe.runIf(hasPostgres && hasRedis)('a cluster of three nodes under faults', () => {
  const { postgres, redis, cleanups, cluster, users } = faultyCluster();

  it('loses no acknowledged message while Redis is stopped for 10 s under load, and afterwards every client holds the same history, nothing delivered twice', async () => {
    const c = await cluster();
    const people = await users(c.direct, 'talker', 4 * NODES);
    const senders = people.map((person, i) => ({ client: wireClient(c.direct(i % NODES), person.token), id: person.user.id }));
    cleanups.push(() => senders.forEach(({ client }) => client.close()));
    await connectAll(senders.map(({ client }) => client));
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

    const { byConv } = await expectStoredExactlyOnce(memberReader(people, c.direct(0)), load.sent);
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
    await connectAll(clients);
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
    const { stored } = await expectStoredExactlyOnce(memberReader(people, c.direct(0)), load.sent);
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
