import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WORLD } from '../src/protocol/index.ts';
import { connect, handshakeStatus, rawSocket, registerUser, waitFor } from './support/clients.ts';
import { ManualClock } from './support/manual-clock.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let token: string;
beforeEach(async () => {
  server = await startTestServer({ flags: ['--allow-origin', 'https://chat.example.org'] });
  ({ token } = await registerUser(server.url, 'alice'));
});
afterEach(async () => {
  await server.close();
});

async function greeted() {
  const socket = await rawSocket(server.url, token);
  socket.send(JSON.stringify({ type: 'hello', protocol: 1 }));
  await socket.next('synced');
  return socket;
}

async function stillServing(socket: Awaited<ReturnType<typeof rawSocket>>) {
  socket.send(JSON.stringify({ type: 'ping', ref: 'still-there' }));
  expect(await socket.next('pong')).toEqual({ type: 'pong', ref: 'still-there' });
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
}

describe('the WebSocket edge', () => {
  it('answers malformed JSON with BAD_JSON and keeps the connection', async () => {
    const socket = await greeted();
    socket.send('{"type": "send", ');
    expect(await socket.next('error')).toMatchObject({ code: 'BAD_JSON' });
    await stillServing(socket);
  });

  it('answers unknown frame types and non-objects with their codes', async () => {
    const socket = await greeted();
    socket.send(JSON.stringify({ type: 'delete_everything', ref: 7 }));
    expect(await socket.next('error')).toMatchObject({ code: 'UNKNOWN_TYPE', ref: 7 });
    for (const frame of ['[1,2,3]', '"send"', 'null', '42', JSON.stringify({ kind: 'send' })]) {
      socket.send(frame);
      expect((await socket.next('error') as { code: string }).code).toMatch(/^(BAD_REQUEST|UNKNOWN_TYPE)$/);
    }
    socket.send(Buffer.from([1, 2, 3]));
    expect(await socket.next('error')).toMatchObject({ code: 'BAD_REQUEST' });
    await stillServing(socket);
  });

  it('answers wrong field types with BAD_REQUEST naming the field, and stores nothing', async () => {
    const socket = await greeted();
    const bad = [
      { type: 'send', conv: WORLD, clientId: 'c1', text: { $ne: '' } },
      { type: 'send', conv: WORLD, clientId: 'c2', text: ['a', 'b'] },
      { type: 'send', conv: ['world'], clientId: 'c3', text: 'x' },
      { type: 'send', conv: WORLD, clientId: 'has spaces', text: 'x' },
      { type: 'send', conv: WORLD, clientId: 'c6', text: 'x', extra: true },
      { type: 'history', ref: 'h', conv: WORLD, limit: 'ten' },
      { type: 'read', conv: WORLD, seq: -1 },
    ];
    for (const frame of bad) {
      socket.send(JSON.stringify(frame));
      const error = (await socket.next('error')) as { code: string; message: string };
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toMatch(/^Invalid \w+ frame: /);
    }
    // A well-formed id of no conversation of yours is simply not found.
    socket.send(JSON.stringify({ type: 'send', conv: 'dm:2:1', clientId: 'c5', text: 'x' }));
    expect(await socket.next('error')).toMatchObject({ code: 'NOT_FOUND', clientId: 'c5' });
    await stillServing(socket);
    const history = await fetch(`${server.url}/api/conversations/world/messages`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await history.json()) as { messages: unknown[] }).messages).toHaveLength(0);
  });

  it('tells the client the documented limits in welcome: 4,000 code points, 64 KiB frames, pages of 100, 2 GiB files', async () => {
    const socket = await rawSocket(server.url, token);
    socket.send(JSON.stringify({ type: 'hello', protocol: 2 }));
    // As PROTOCOL.md writes the welcome frame (the defaults: no --max-file-bytes here).
    expect(await socket.next('welcome')).toMatchObject({
      protocol: 2,
      limits: { maxTextCodePoints: 4000, maxFrameBytes: 65536, historyPageMax: 100, maxFileBytes: 2147483648 },
    });
    socket.ws.close();
  });

  it('requires hello first and refuses a second one', async () => {
    const socket = await rawSocket(server.url, token);
    socket.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'early', text: 'hi' }));
    expect(await socket.next('error')).toMatchObject({ code: 'HELLO_REQUIRED', clientId: 'early' });
    socket.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await socket.next('synced');
    socket.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    expect(await socket.next('error')).toMatchObject({ code: 'ALREADY_GREETED' });
  });

  it('closes with 4002 on an unsupported protocol version', async () => {
    const socket = await rawSocket(server.url, token);
    socket.send(JSON.stringify({ type: 'hello', protocol: 99 }));
    expect(await socket.next('error')).toMatchObject({ code: 'PROTOCOL_UNSUPPORTED' });
    expect((await socket.closed).code).toBe(4002);
  });

  it('closes with 1009 on a frame over 64 KiB and stays up for others', async () => {
    const socket = await greeted();
    socket.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'big', text: 'x'.repeat(64 * 1024) }));
    expect((await socket.closed).code).toBe(1009);
    await stillServing(await greeted());
  });

  it('refuses a handshake without a valid session (401) or from a foreign Origin (403)', async () => {
    expect(await handshakeStatus(server.url, {})).toBe(401);
    expect(await handshakeStatus(server.url, { authorization: 'Bearer not-a-token' })).toBe(401);
    expect(await handshakeStatus(server.url, { cookie: 'parley_session=forged' })).toBe(401);
    const auth = { authorization: `Bearer ${token}` };
    expect(await handshakeStatus(server.url, { ...auth, origin: 'https://evil.example' })).toBe(403);
    expect(await handshakeStatus(server.url, { ...auth, origin: 'null' })).toBe(403);
    // Its own origin and allow-listed origins are accepted.
    for (const origin of [server.url, 'https://chat.example.org']) {
      const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws', { headers: { ...auth, origin } });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.close();
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('lets one user hold --max-connections-per-user sockets (default 32), refuses the next with 429 TOO_MANY_CONNECTIONS, and frees a slot when one closes', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const open = [];
    for (let i = 0; i < 32; i++) open.push(await rawSocket(server.url, token));
    expect(await handshakeStatus(server.url, auth)).toBe(429);
    // Someone else is not held back by alice's sockets.
    const bob = await registerUser(server.url, 'bob');
    const bobs = await rawSocket(server.url, bob.token);
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws', { headers: auth });
      ws.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      ws.on('open', () => reject(new Error('the handshake was accepted')));
    });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'TOO_MANY_CONNECTIONS' } });
    // Closing one gives its slot back, once the server has seen the close.
    open.pop()!.ws.close();
    let accepted: Awaited<ReturnType<typeof rawSocket>> | null = null;
    for (let tries = 0; !accepted && tries < 500; tries++) {
      accepted = await rawSocket(server.url, token).catch(() => null);
      if (!accepted) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(accepted).not.toBeNull();
    expect(await handshakeStatus(server.url, auth)).toBe(429);
    for (const socket of [...open, accepted!, bobs]) socket.ws.close();
  });

  it('closes a client that does not read with 4008 instead of buffering without bound', async () => {
    await server.close();
    server = await startTestServer({ flags: ['--send-queue-bytes', '65536', '--send-rate', '100000', '--send-burst', '100000'] });
    const alice = await registerUser(server.url, 'alice');
    const slowUser = await registerUser(server.url, 'slow');
    const slow = await rawSocket(server.url, slowUser.token);
    slow.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await slow.next('synced');
    const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();

    const sender = await connect(alice.api);
    const text = 'x'.repeat(4000);
    for (let round = 0; round < 8; round++) {
      await Promise.all(Array.from({ length: 250 }, () => sender.session.send(WORLD, text)));
    }
    socket.resume();
    expect((await slow.closed).code).toBe(4008);
    expect(slow.frames.filter((f) => f.type === 'message').length).toBeLessThan(2000);
    // The fast client got everything.
    await waitFor(() => sender.messages.length === 2000, 'all 2000 messages at the fast client');
    sender.close();
  });

  it('cuts off a peer that stops answering heartbeats at the second beat, and keeps one that answers beat after beat', async () => {
    await server.close();
    const clock = new ManualClock();
    // Neither peer says hello: the hello timeout must not be what closes them.
    server = await startTestServer({ clock, flags: ['--heartbeat-ms', '30000', '--hello-timeout-ms', '600000'] });
    const { token: userToken } = await registerUser(server.url, 'someone');
    const url = server.url.replace('http', 'ws') + '/ws';
    const headers = { authorization: `Bearer ${userToken}` };
    const silent = new WebSocket(url, { headers, autoPong: false });
    const healthy = new WebSocket(url, { headers });
    await Promise.all([silent, healthy].map((ws) => new Promise((resolve) => ws.once('open', resolve))));
    const silentClosed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    const pings = { silent: 0, healthy: 0 };
    silent.on('ping', () => pings.silent++);
    healthy.on('ping', () => pings.healthy++);

    for (let beat = 1; beat <= 5; beat++) {
      await clock.advance(30_000);
      await waitFor(() => pings.healthy === beat, `heartbeat ${beat} at the healthy peer`);
      // Its pong (sent when the ping arrived) is ahead of this round trip on the wire: the server has read it.
      await wsRoundTrip(healthy);
      if (beat === 1) {
        await waitFor(() => pings.silent === 1, 'heartbeat 1 at the silent peer');
        expect(silent.readyState).toBe(WebSocket.OPEN);
      }
      if (beat === 2) expect(await silentClosed).toBe(4011); // a peer that still reads is told why
    }
    expect(pings.silent).toBe(1);
    expect(healthy.readyState).toBe(WebSocket.OPEN);
    healthy.close();
  });

  it('closes a socket that never says hello with 4010 once the hello timeout passes, not before', async () => {
    await server.close();
    const clock = new ManualClock();
    server = await startTestServer({ clock, flags: ['--hello-timeout-ms', '10000'] });
    const { token } = await registerUser(server.url, 'mute');
    const mute = new WebSocket(server.url.replace('http', 'ws') + '/ws', { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve) => mute.once('open', resolve));
    const closed = new Promise<number>((resolve) => mute.once('close', (code) => resolve(code)));
    await clock.advance(9_999);
    await wsRoundTrip(mute);
    expect(mute.readyState).toBe(WebSocket.OPEN);
    await clock.advance(1);
    expect(await closed).toBe(4010);
  });
});

describe('shutting down', () => {
  it('answers /healthz and new handshakes 503 while it closes open sessions with 1001', async () => {
    await server.close();
    // A peer that stopped reading holds the shutdown at its close handshake until the grace
    // passes, and the grace runs on the test's clock: the shutdown stays under way until the test moves it.
    const clock = new ManualClock();
    server = await startTestServer({ clock });
    const { token: userToken } = await registerUser(server.url, 'someone');
    const greet = async () => {
      const socket = await rawSocket(server.url, userToken);
      socket.send(JSON.stringify({ type: 'hello', protocol: 1 }));
      await socket.next('synced');
      return socket;
    };
    const stalled = await greet();
    const healthy = await greet();
    (stalled.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const closing = server.parley.close();
    expect((await healthy.closed).code).toBe(1001);
    const health = await fetch(`${server.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([503, { ok: false }]);
    expect(await handshakeStatus(server.url, { authorization: `Bearer ${userToken}` })).toBe(503);
    await clock.advance(3000);
    await closing;
  });
});

/** A WebSocket-level ping answered by the server: everything the peer sent before has been read. */
function wsRoundTrip(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ws.readyState !== WebSocket.OPEN) return reject(new Error(`the socket is not open (state ${ws.readyState})`));
    const closed = (code: number) => reject(new Error(`the socket closed with ${code} instead of answering`));
    ws.once('close', closed);
    ws.once('pong', () => {
      ws.off('close', closed);
      resolve();
    });
    ws.ping();
  });
}
