import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParleyClientError } from '../src/client/errors.ts';
import { WORLD, dmId } from '../src/protocol/index.ts';
import { connect, rawSocket, registerUser, waitFor, type Client } from './support/clients.ts';
import { ManualClock } from './support/manual-clock.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const clients: Client[] = [];
beforeEach(async () => {
  server = await startTestServer({ restartable: true });
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

async function user(name: string) {
  const registered = await registerUser(server.url, name);
  const client = await connect(registered.api);
  clients.push(client);
  return { ...registered, client };
}

describe('world and direct chat', () => {
  it('delivers a world message to every other user exactly once, with its place and sender', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    const ack = await alice.client.session.send(WORLD, 'hello, world 你好');
    expect(ack.seq).toBe(1);
    for (const receiver of [bob, carol]) {
      await waitFor(() => receiver.client.messages.length === 1, 'the world message');
      expect(receiver.client.messages[0]).toMatchObject({
        conv: WORLD,
        seq: 1,
        text: 'hello, world 你好',
        sender: { id: alice.user.id, name: 'alice' },
        clientId: ack.clientId,
        ts: ack.ts,
      });
    }
    // A second message reaches each after any copy of the first would have.
    await alice.client.session.send(WORLD, 'marker');
    for (const receiver of [bob, carol]) await waitFor(() => receiver.client.messages.some((m) => m.text === 'marker'), 'the marker');
    expect(bob.client.messages.map((m) => m.text)).toEqual(['hello, world 你好', 'marker']);
    expect(carol.client.messages.map((m) => m.text)).toEqual(['hello, world 你好', 'marker']);
  });

  it('delivers a DM to its recipient and the sender’s other tabs, and to no one else', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    const aliceSecondTab = await connect(alice.api);
    clients.push(aliceSecondTab);
    const conv = dmId(alice.user.id, bob.user.id);

    await alice.client.session.send(conv, 'psst, bob');
    await waitFor(() => bob.client.messages.length === 1, 'the DM at bob');
    await waitFor(() => aliceSecondTab.messages.length === 1, 'the DM at alice’s other tab');
    expect(bob.client.messages[0]).toMatchObject({ conv, seq: 1, text: 'psst, bob' });
    expect(bob.client.frames.find((f) => f.type === 'conversation')).toMatchObject({
      id: conv,
      kind: 'dm',
      peer: { id: alice.user.id, name: 'alice' },
    });
    // carol's own message, committed after the DM, reaches her after anything of the DM would have.
    await carol.client.session.send(WORLD, 'marker');
    await waitFor(() => carol.client.messages.some((m) => m.text === 'marker'), 'carol\'s own marker');
    expect(carol.client.messages.map((m) => m.text)).toEqual(['marker']);
    expect(carol.client.frames.filter((f) => f.type === 'conversation')).toHaveLength(0);
  });

  it('hides a DM from a third user: history over WebSocket and HTTP, sends and read marks are "not found"', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    const conv = dmId(alice.user.id, bob.user.id);
    await alice.client.session.send(conv, 'secret');

    await expect(carol.client.session.history(conv)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(carol.api.history(conv)).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    await expect(carol.client.session.send(conv, 'let me in')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A DM with a user who does not exist is not found either.
    await expect(alice.client.session.send(dmId(alice.user.id, 9999), 'anyone?')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await bob.api.history(conv)).messages.map((m) => m.text)).toEqual(['secret']);
  });

  it('refuses empty and over-long messages with typed errors and stores nothing', async () => {
    const alice = await user('alice');
    const send = (text: string) => alice.client.session.send(WORLD, text);
    await expect(send('')).rejects.toMatchObject({ code: 'TEXT_EMPTY' });
    await expect(send(' \n\t ')).rejects.toMatchObject({ code: 'TEXT_EMPTY' });
    await expect(send('x'.repeat(4001))).rejects.toMatchObject({ code: 'TEXT_TOO_LONG' });
    await expect(send('😀'.repeat(4001))).rejects.toMatchObject({ code: 'TEXT_TOO_LONG' });
    // The limit counts characters (code points), not UTF-16 units: 4,000 emoji fit.
    expect((await send('😀'.repeat(4000))).seq).toBe(1);
    expect((await send('x'.repeat(4000))).seq).toBe(2);
    expect((await alice.api.history(WORLD)).messages).toHaveLength(2);
  });

  it('stores a re-sent client id once and acknowledges it identically, across reconnects and restarts', async () => {
    const alice = await user('alice');
    const first = await alice.client.session.send(WORLD, 'only once', 'client-id-1');
    const again = await alice.client.session.send(WORLD, 'only once', 'client-id-1');
    expect(again).toEqual(first);

    alice.client.close();
    await server.restart();
    const reconnected = await connect(alice.api);
    clients.push(reconnected);
    const afterRestart = await reconnected.session.send(WORLD, 'only once', 'client-id-1');
    expect(afterRestart).toEqual(first);
    expect((await alice.api.history(WORLD)).messages.map((m) => m.clientId)).toEqual(['client-id-1']);
  });

  it('rate limits sends per user (5 at once, then one per 200 ms at 5/s) and the client retries after the advised delay without loss', async () => {
    await server.close();
    // The bucket's time stands still unless the test moves it: nothing refills behind its back.
    const clock = new ManualClock();
    server = await startTestServer({ clock, flags: ['--send-rate', '5', '--send-burst', '5'] });
    const alice = await user('alice');
    const raw = await rawSocket(server.url, alice.token);
    raw.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await raw.next('synced');
    for (let i = 0; i < 6; i++) raw.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: `burst-${i}`, text: `m${i}` }));
    expect(await raw.next('error')).toMatchObject({ code: 'RATE_LIMITED', clientId: 'burst-5', retryAfterMs: 200 });
    await clock.advance(199);
    raw.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'burst-6', text: 'm6' }));
    expect(await raw.next('error')).toMatchObject({ code: 'RATE_LIMITED', clientId: 'burst-6' });
    await clock.advance(1);
    raw.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'burst-7', text: 'm7' }));
    await waitFor(() => raw.frames.some((frame) => frame.type === 'ack' && frame.clientId === 'burst-7'), 'the ack of burst-7');
    raw.ws.close();

    // The client library waits the advised time and re-sends: everything arrives once.
    await clock.advance(1000);
    const sending = Promise.all(Array.from({ length: 8 }, (_, i) => alice.client.session.send(WORLD, `burst ${i}`)));
    await waitFor(() => alice.client.frames.filter((frame) => frame.type === 'ack').length === 5, 'the first 5 acks');
    // The pong comes after the three refusals on the wire: the client has them, and waits.
    await alice.client.session.ping();
    await clock.advance(1000);
    const acks = await sending;
    expect(new Set(acks.map((a) => a.seq)).size).toBe(8);
    expect((await alice.api.history(WORLD)).messages.map((m) => m.text)).toEqual([
      ...['m0', 'm1', 'm2', 'm3', 'm4', 'm7'],
      ...Array.from({ length: 8 }, (_, i) => `burst ${i}`),
    ]);
  });
});

describe('sending over HTTP', () => {
  it('sends through the same path as the WebSocket: committed, fanned out, idempotent, validated', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const ack = await alice.api.send(WORLD, 'from a script', 'script-1');
    expect(ack).toMatchObject({ conv: WORLD, seq: 1, clientId: 'script-1' });
    await waitFor(() => bob.client.messages.length === 1, 'the message at bob');
    expect(bob.client.messages[0]).toMatchObject({ text: 'from a script', sender: { name: 'alice' } });
    expect(await alice.api.send(WORLD, 'from a script', 'script-1')).toEqual(ack);
    await expect(alice.api.send(WORLD, '   ')).rejects.toMatchObject({ code: 'TEXT_EMPTY', status: 400 });
    const carol = await registerUser(server.url, 'carol');
    await expect(carol.api.send(dmId(alice.user.id, bob.user.id), 'hi')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect((await alice.api.online()).online.map((u) => u.name).sort()).toEqual(['alice', 'bob']);
  });

  it('rate limits HTTP sends per user with 429, Retry-After and retryAfterMs, until the bucket refills', async () => {
    await server.close();
    const clock = new ManualClock();
    server = await startTestServer({ clock, flags: ['--send-rate', '1', '--send-burst', '2'] });
    const alice = await registerUser(server.url, 'alice');
    const post = (text: string) =>
      fetch(`${server.url}/api/conversations/world/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      });
    expect((await post('one')).status).toBe(201);
    expect((await post('two')).status).toBe(201);
    const limited = await post('three');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED', retryAfterMs: 1000 } });
    await clock.advance(999);
    expect((await post('still too soon')).status).toBe(429);
    await clock.advance(1);
    expect((await post('four')).status).toBe(201);
    expect((await alice.api.history(WORLD)).messages.map((m) => m.text)).toEqual(['one', 'two', 'four']);
  });
});

describe('one send budget per user', () => {
  it('shares the budget between all of a user’s connections and HTTP, and not with other users', async () => {
    await server.close();
    const clock = new ManualClock();
    server = await startTestServer({ clock, flags: ['--send-rate', '1', '--send-burst', '3'] });
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const tabs = [await rawSocket(server.url, alice.token), await rawSocket(server.url, alice.token)];
    for (const tab of tabs) {
      tab.send(JSON.stringify({ type: 'hello', protocol: 2 }));
      await tab.next('synced');
    }
    tabs[0]!.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'tab1-a', text: 'a' }));
    expect(await tabs[0]!.next('ack')).toMatchObject({ clientId: 'tab1-a' });
    tabs[1]!.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'tab2-b', text: 'b' }));
    expect(await tabs[1]!.next('ack')).toMatchObject({ clientId: 'tab2-b' });
    await alice.api.send(WORLD, 'c', 'http-c');
    // Three sends through three ways used the burst of 3: the fourth is refused wherever it comes from.
    tabs[1]!.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'tab2-d', text: 'd' }));
    expect(await tabs[1]!.next('error')).toMatchObject({ code: 'RATE_LIMITED', clientId: 'tab2-d', retryAfterMs: 1000 });
    await expect(alice.api.send(WORLD, 'e')).rejects.toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    // Bob's budget is his own.
    expect((await bob.api.send(WORLD, 'f')).seq).toBe(4);
    await clock.advance(1000);
    tabs[0]!.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'tab1-g', text: 'g' }));
    expect(await tabs[0]!.next('ack')).toMatchObject({ clientId: 'tab1-g', seq: 5 });
    for (const tab of tabs) tab.ws.close();
  });
});

describe('errors reach the right request', () => {
  it('rejects a send with a ParleyClientError carrying the code and message of the error frame', async () => {
    const alice = await user('alice');
    const error = await alice.client.session.send(WORLD, '').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyClientError);
    expect(error).toMatchObject({ code: 'TEXT_EMPTY', message: 'A message needs some text.' });
    // The session goes on: the next send is acknowledged.
    expect((await alice.client.session.send(WORLD, 'not empty')).seq).toBe(1);
  });
});
