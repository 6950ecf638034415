import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ParleyApi } from '../src/client/api.ts';
import { nodeSession } from '../src/client/node.ts';
import type { ChatSession, SocketLike } from '../src/client/session.ts';
import { WORLD, type Message, type ServerFrame } from '../src/protocol/index.ts';
import { registerUser, waitFor } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const sessions: ChatSession[] = [];
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  await server.close();
});

/**
 * A session on the real server whose incoming frames pass through `tamper` first: the fault is
 * injected between the real socket and the client library, as a network or a buggy relay would.
 */
async function tamperedSession(api: ParleyApi, tamper: (frame: ServerFrame, pass: (frame: ServerFrame) => void) => void) {
  const received: Message[] = [];
  const session = nodeSession(api, {
    holeWaitMs: 20,
    createSocket: (url) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${api.token}` } }) as unknown as SocketLike;
      const wrapped: SocketLike = Object.create(ws as object);
      let handler: SocketLike['onmessage'] = null;
      Object.defineProperty(wrapped, 'onmessage', {
        set: (value: SocketLike['onmessage']) => {
          handler = value;
          ws.onmessage = (event) => tamper(JSON.parse(String(event.data)) as ServerFrame, (frame) => handler?.({ data: JSON.stringify(frame) }));
        },
        get: () => handler,
      });
      for (const name of ['onopen', 'onclose', 'onerror'] as const) {
        Object.defineProperty(wrapped, name, { set: (value) => (ws[name] = value), get: () => ws[name] });
      }
      return wrapped;
    },
  });
  sessions.push(session);
  session.on('message', (message) => received.push(message));
  const synced = new Promise<void>((resolve) => session.on('synced', () => resolve()));
  session.connect();
  await synced;
  return { session, received };
}

const isMessage = (frame: ServerFrame, seq: number) => frame.type === 'message' && frame.message.seq === seq;

describe('the client library keeps messages in order', () => {
  it('shows a message that arrives after a later one, in its place', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    let delayed: ServerFrame | null = null;
    const { received } = await tamperedSession(bob.api, (frame, pass) => {
      if (isMessage(frame, 2)) return void (delayed = frame); // seq 2 is overtaken by seq 3
      pass(frame);
      if (isMessage(frame, 3) && delayed) pass(delayed);
    });
    for (const text of ['one', 'two', 'three', 'four']) await alice.api.send(WORLD, text);
    await waitFor(() => received.length === 4, 'four messages');
    expect(received.map((m) => [m.seq, m.text])).toEqual([[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four']]);
  });

  it('fills a message that never arrives from history, never skipping it', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const { received } = await tamperedSession(bob.api, (frame, pass) => {
      if (isMessage(frame, 2) || isMessage(frame, 3)) return; // lost on the way
      pass(frame);
    });
    for (const text of ['one', 'two', 'three', 'four', 'five']) await alice.api.send(WORLD, text);
    await waitFor(() => received.length === 5, 'five messages');
    expect(received.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(received[1]).toMatchObject({ text: 'two', sender: { name: 'alice' } });
  });

  it('delivers a repeated message once', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const { received } = await tamperedSession(bob.api, (frame, pass) => {
      pass(frame);
      if (frame.type === 'message') pass(frame);
    });
    for (const text of ['one', 'two']) await alice.api.send(WORLD, text);
    await waitFor(() => received.length >= 2, 'two messages');
    await alice.api.send(WORLD, 'three');
    await waitFor(() => received.length >= 3, 'the third message');
    expect(received.map((m) => m.seq)).toEqual([1, 2, 3]);
  });
});
