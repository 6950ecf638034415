/**
 * The session never waits longer than a minute before sending again, whatever wait a server's
 * refusal names (session.ts, MAX_SEND_PAUSE_MS). The real session against a real `parley serve`
 * (its own process, so that only this process's timers are faked) that refuses the second of two
 * sends with RATE_LIMITED; the refusal's retryAfterMs is rewritten on its way in, between the real
 * socket and the session, as a misbehaving server or relay would name it.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ParleyClientError } from '../src/client/errors.ts';
import { nodeSession } from '../src/client/node.ts';
import type { ChatSession, SocketLike } from '../src/client/session.ts';
import { WORLD, type ServerFrame } from '../src/protocol/index.ts';
import { registerUser } from './support/clients.ts';
import { serveProcess, type ParleyProcess } from './support/parley-process.ts';
import { scratchDir } from './support/scratch.ts';

const MINUTE = 60_000;

/** A real `ws` socket whose outgoing sends are noted and whose RATE_LIMITED refusals name `named()` ms. */
function renamingSocket(token: string, named: () => number | undefined, sends: string[], refusals: { count: number }) {
  return (url: string): SocketLike => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const socket: SocketLike = {
      get readyState() {
        return ws.readyState;
      },
      send(data) {
        const frame = JSON.parse(data) as { type: string; clientId?: string };
        if (frame.type === 'send') sends.push(frame.clientId!);
        ws.send(data);
      },
      close: (code, reason) => ws.close(code, reason),
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
    };
    ws.onopen = (event) => socket.onopen?.(event);
    ws.onerror = (event) => socket.onerror?.(event);
    ws.onclose = (event) => socket.onclose?.({ code: event.code, reason: event.reason });
    ws.onmessage = (event) => {
      const frame = JSON.parse(String(event.data)) as ServerFrame;
      const wait = named();
      if (frame.type === 'error' && frame.code === 'RATE_LIMITED' && wait !== undefined) {
        refusals.count += 1;
        frame.retryAfterMs = wait;
      }
      socket.onmessage?.({ data: JSON.stringify(frame) });
    };
    return socket;
  };
}

/** Lets the sockets' I/O run (setImmediate is not faked) until `check` holds. */
async function untilIo(check: () => boolean, what: string): Promise<void> {
  for (let turns = 0; turns < 20_000; turns++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

describe('the session under a server that names a very long pause', () => {
  let server: ParleyProcess | null = null;
  let session: ChatSession | null = null;
  afterEach(async () => {
    vi.useRealTimers();
    session?.close();
    session = null;
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
      server = null;
    }
  });

  // 10 minutes: a plain long wait. 2^31 ms and more: a timer that long fires at once in Node,
  // which without the cap would re-send in a tight loop.
  for (const named of [10 * MINUTE, 2 ** 31 + 1_000]) {
    it(`sends again after 60 s, not sooner and not later, when a refusal names ${named} ms`, async () => {
      server = await serveProcess(['--port', '0', '--data', scratchDir('pause-cap'), '--send-rate', '1', '--send-burst', '1']);
      const alice = await registerUser(server.url, 'alice');
      const sends: string[] = [];
      const refusals = { count: 0 };
      let rename: number | undefined = named;
      session = nodeSession(alice.api, { createSocket: renamingSocket(alice.token, () => rename, sends, refusals) });
      const synced = new Promise<void>((resolve) => session!.on('synced', () => resolve()));
      session.connect();
      await synced;

      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      let firstAcked = false;
      void session.send(WORLD, 'first', 'p1').then(() => (firstAcked = true));
      const second = session.send(WORLD, 'second', 'p2');
      const outcome = second.then((ack) => ack.clientId, (error: unknown) => (error instanceof ParleyClientError ? error.code : String(error)));
      await untilIo(() => firstAcked && refusals.count === 1, 'the first send acknowledged and the second refused');
      expect(sends).toEqual(['p1', 'p2']);

      vi.advanceTimersByTime(MINUTE - 1);
      await untilIo(() => true, 'a turn');
      expect(sends, 'not sent again before the minute is up').toEqual(['p1', 'p2']);

      // The server's own (short) waits from here on, on real timers, so the send gets through.
      rename = undefined;
      vi.advanceTimersByTime(1);
      vi.useRealTimers();
      expect(sends, 'sent again when the minute is up').toEqual(['p1', 'p2', 'p2']);
      expect(await outcome).toBe('p2');
    }, 30_000);
  }
});
