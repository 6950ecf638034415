import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, WORLD } from '../src/protocol/index.ts';
import { connect, rawSocket, registerUser, waitFor, type Client } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const clients: Client[] = [];
beforeEach(async () => {
  server = await startTestServer({ restartable: true, flags: ['--send-rate', '100000', '--send-burst', '100000'] });
});
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

async function sendMany(client: Client, count: number, prefix: string) {
  return Promise.all(Array.from({ length: count }, (_, i) => client.session.send(WORLD, `${prefix} ${i + 1}`)));
}

describe('durable history', () => {
  it('survives a restart and pages backwards in order with no gap and no duplicate', async () => {
    const alice = await registerUser(server.url, 'alice');
    const client = await connect(alice.api);
    clients.push(client);
    await sendMany(client, 237, 'message');
    client.close();
    await server.restart();

    const seen: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await alice.api.history(WORLD, { limit: 50, ...(before ? { before } : {}) });
      const seqs = page.messages.map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      seen.unshift(...seqs);
      if (!page.hasMore) break;
      before = seqs[0];
    }
    expect(seen).toEqual(Array.from({ length: 237 }, (_, i) => i + 1));
    const newest = await alice.api.history(WORLD, { limit: 1 });
    expect(newest.messages[0]).toMatchObject({ seq: 237, text: 'message 237', sender: { name: 'alice' } });
  });

  it('gives pages of 50 unless asked otherwise, newest first, over HTTP and over the WebSocket', async () => {
    const alice = await registerUser(server.url, 'alice');
    const client = await connect(alice.api);
    clients.push(client);
    await sendMany(client, 120, 'm');
    const newest50 = Array.from({ length: 50 }, (_, i) => 71 + i);
    const http = await alice.api.history(WORLD);
    expect([http.messages.map((m) => m.seq), http.hasMore]).toEqual([newest50, true]);
    const ws = await client.session.history(WORLD);
    expect([ws.messages.map((m) => m.seq), ws.hasMore]).toEqual([newest50, true]);
    const before = await alice.api.history(WORLD, { before: 71 });
    expect(before.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 21 + i));
  });

  it('pages over the WebSocket too, and refuses a page size over the maximum', async () => {
    const alice = await registerUser(server.url, 'alice');
    const client = await connect(alice.api);
    clients.push(client);
    await sendMany(client, 120, 'm');
    const page = await client.session.history(WORLD, { before: 101, limit: 100 });
    expect(page.messages.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(page.hasMore).toBe(false);
    await expect(client.session.history(WORLD, { limit: 101 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const http = await fetch(`${server.url}/api/conversations/world/messages?limit=101`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(http.status).toBe(400);
  });
});

/** The catch-up limit documented in docs/PROTOCOL.md ("Connecting"): pinned here, not imported. */
const CATCH_UP_MAX = 1000;

describe('catch-up after a reconnect', () => {
  it('sends a client exactly the 50 messages it missed, in order, then live ones', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const aliceClient = await connect(alice.api);
    const bobClient = await connect(bob.api);
    clients.push(aliceClient, bobClient);
    await sendMany(aliceClient, 10, 'before');
    await waitFor(() => bobClient.messages.length === 10, 'the first 10');

    bobClient.close();
    await sendMany(aliceClient, 50, 'missed');
    const bobAgain = await connect(bob.api, { cursors: { [WORLD]: bobClient.session.cursor(WORLD)! } });
    clients.push(bobAgain);
    // Everything missed arrives before `synced`, which connect() awaits.
    expect(bobAgain.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 11 + i));
    expect(bobAgain.messages.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `missed ${i + 1}`));
    await aliceClient.session.send(WORLD, 'live');
    await waitFor(() => bobAgain.messages.length === 51, 'the live message');
    expect(bobAgain.messages[50]).toMatchObject({ seq: 61, text: 'live' });
  });

  it('loses nothing and repeats nothing when messages keep arriving while a client reconnects', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const aliceClient = await connect(alice.api);
    const bobClient = await connect(bob.api);
    clients.push(aliceClient, bobClient);
    await sendMany(aliceClient, 5, 'warm-up');
    await waitFor(() => bobClient.messages.length === 5, 'warm-up');

    const received: number[] = bobClient.messages.map((m) => m.seq);
    bobClient.session.on('message', (m) => received.push(m.seq));
    // Drop bob's socket while alice streams: the session reconnects on its own.
    const streaming = (async () => {
      for (let i = 0; i < 40; i++) {
        await aliceClient.session.send(WORLD, `stream ${i}`);
        if (i === 5) (bobClient.session as unknown as { socket: { close(): void } }).socket.close();
      }
    })();
    await streaming;
    await waitFor(() => received.length === 45, 'all 45 messages at bob', 15_000);
    expect(received).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
  });

  it('sends live messages to a client whose cursor is beyond the conversation’s last seq (a server restored from an older backup), from the next seq on', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    await alice.api.send(WORLD, 'before the restore', 'c1');
    const socket = await rawSocket(server.url, bob.token);
    cleanups.push(() => socket.ws.close());
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, cursors: { [WORLD]: 5 } }));
    await socket.next('synced');
    for (let i = 2; i <= 6; i++) await alice.api.send(WORLD, `after ${i}`, `c${i}`);
    const seqs: number[] = [];
    for (let i = 2; i <= 6; i++) seqs.push(((await socket.next('message')) as { message: { seq: number } }).message.seq);
    expect(seqs).toEqual([2, 3, 4, 5, 6]);
  });

  it('says "gap" instead of replaying more than 1,000 missed messages, and replays exactly 1,000', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const aliceClient = await connect(alice.api);
    clients.push(aliceClient);
    for (let sent = 0; sent < CATCH_UP_MAX + 1; sent += 500) await sendMany(aliceClient, Math.min(500, CATCH_UP_MAX + 1 - sent), 'bulk');
    const bobClient = await connect(bob.api, { cursors: { [WORLD]: 0 } });
    clients.push(bobClient);
    expect(bobClient.messages).toHaveLength(0);
    expect(bobClient.frames.find((f) => f.type === 'gap')).toMatchObject({ conv: WORLD, lastSeq: CATCH_UP_MAX + 1 });

    // Exactly at the limit, everything is replayed.
    const carol = await registerUser(server.url, 'carol');
    const carolClient = await connect(carol.api, { cursors: { [WORLD]: 1 } });
    clients.push(carolClient);
    expect(carolClient.messages).toHaveLength(CATCH_UP_MAX);
    expect(carolClient.frames.filter((f) => f.type === 'gap')).toHaveLength(0);
  });
});
