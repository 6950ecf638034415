/**
 * Three real `parley serve` processes on one PostgreSQL and one Redis: a reader who reconnects
 * again and again, to each node in turn, while a DM partner on one node keeps sending, is sent
 * each message once and in seq order on every socket, before `synced` and after it
 * (docs/PROTOCOL.md, "Connecting, step by step", step 6). Once the nodes route DMs by audience
 * (after a heartbeat), a node the reader comes back to hears the DM again after a quiet spell and
 * starts it afresh from the reader's hello less the clock skew: the second before it, which the
 * reader had just caught up on, used to come again after `synced`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { dmId, type ServerFrame } from '../src/protocol/index.ts';
import { rawSocket, registerUser, sleep, waitFor } from './support/clients.ts';
import { startNode } from './support/cluster-nodes.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { hasRedis, privateRedis } from './support/redis.ts';

/** Reconnections: enough to run for several seconds after the nodes begin routing (within about 5 s). */
const ROUNDS = 36;

describe.runIf(hasPostgres && hasRedis)('a reader reconnecting round the nodes of a cluster', () => {
  const postgres = privatePostgres();
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('is sent each DM message once, in seq order, on every socket, after synced as before it', async () => {
    const database = await postgres().createDatabase();
    const nodes = await Promise.all([0, 1, 2].map(() => startNode(database, redis().url, ['--send-rate', '100000', '--send-burst', '100000'])));
    cleanups.push(...nodes.map((node) => () => node.close()));
    const reader = await registerUser(nodes[0]!.url, 'reader');
    const writer = await registerUser(nodes[1]!.url, 'writer');
    const dm = dmId(reader.user.id, writer.user.id);

    // The writer, on node 1, sends to the DM every 20 ms throughout.
    const writing = await rawSocket(nodes[1]!.url, writer.token);
    cleanups.push(() => writing.ws.terminate());
    writing.send(JSON.stringify({ type: 'hello', protocol: 2, cursors: {} }));
    await waitFor(() => writing.frames.some((frame) => frame.type === 'synced'), 'the writer synced');
    let stop = false;
    const sending = (async () => {
      for (let n = 0; !stop; n++) {
        writing.send(JSON.stringify({ type: 'send', conv: dm, clientId: `w${n}`, text: `w${n}` }));
        await sleep(20);
      }
    })();
    cleanups.push(() => ((stop = true), sending));
    await waitFor(() => writing.frames.some((frame) => frame.type === 'ack'), 'the first DM stored');

    // The reader holds everything up to its cursor, and says so at each hello, on node 0, 1, 2, 0, …
    let cursor = (await reader.api.history(dm, { limit: 1 })).messages.at(-1)!.seq;
    const wrong: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const socket = await rawSocket(nodes[round % 3]!.url, reader.token);
      socket.send(JSON.stringify({ type: 'hello', protocol: 2, cursors: { [dm]: cursor } }));
      await waitFor(() => socket.frames.some((frame) => frame.type === 'synced'), `round ${round}: synced`);
      await sleep(150);
      socket.ws.terminate();
      // What came on this socket, catch-up and live: cursor + 1, cursor + 2, … and nothing else.
      const seqs = socket.frames.flatMap((frame: ServerFrame) => (frame.type === 'message' && frame.message.conv === dm ? [frame.message.seq] : []));
      const expected = seqs.map((_, i) => cursor + 1 + i);
      if (seqs.join() !== expected.join()) {
        const synced = socket.frames.findIndex((frame) => frame.type === 'synced');
        const stream = socket.frames.flatMap((frame, i): (number | string)[] => (i === synced ? ['|synced|'] : frame.type === 'message' && frame.message.conv === dm ? [frame.message.seq] : []));
        wrong.push(`round ${round} (node ${round % 3}), cursor ${cursor}: ${stream.slice(0, 12).join(' ')} …`);
      }
      cursor = Math.max(cursor, ...seqs);
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});
