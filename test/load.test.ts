import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ParleyApi } from '../src/client/api.ts';
import { WORLD } from '../src/protocol/index.ts';
import { PASSWORD, waitFor } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** 100 clients by default; PARLEY_FULL_TESTS=1 (CI, when its time allows) runs 500. */
const CLIENTS = process.env.PARLEY_FULL_TESTS === '1' ? 500 : 100;
const MESSAGES_EACH = 10;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

/** A lean client: a raw socket that records the seq and text of each world message. */
async function leanClient(token: string) {
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws', {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  const seqs: number[] = [];
  const texts: string[] = [];
  const acks: number[] = [];
  let synced = false;
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.type === 'message') {
      seqs.push(frame.message.seq);
      texts.push(frame.message.text);
    } else if (frame.type === 'ack') acks.push(frame.seq);
    else if (frame.type === 'synced') synced = true;
    else if (frame.type === 'error') throw new Error(`unexpected error frame ${JSON.stringify(frame)}`);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'hello', protocol: 1 }));
  return { ws, seqs, texts, acks, isSynced: () => synced };
}

describe('many clients at once', () => {
  it(`delivers every message of ${CLIENTS} clients × ${MESSAGES_EACH} sends to every client once, in one order`, async () => {
    const tokens: string[] = [];
    for (let start = 0; start < CLIENTS; start += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, CLIENTS - start) }, (_, i) =>
          new ParleyApi(server.url).register({ name: `user${start + i}`, password: PASSWORD }),
        ),
      );
      tokens.push(...batch.map((session) => session.token));
    }
    const clients = await Promise.all(tokens.map((token) => leanClient(token)));
    await waitFor(() => clients.every((c) => c.isSynced()), 'every client to sync', 30_000);

    clients.forEach((client, c) => {
      for (let m = 0; m < MESSAGES_EACH; m++) {
        client.ws.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: `c${c}-m${m}`, text: `from ${c}: ${m}` }));
      }
    });
    const total = CLIENTS * MESSAGES_EACH;
    await waitFor(() => clients.every((c) => c.seqs.length >= total && c.acks.length === MESSAGES_EACH), 'all deliveries', 60_000);

    const expectedSeqs = Array.from({ length: total }, (_, i) => i + 1);
    const reference = clients[0]!.texts;
    expect(new Set(reference).size).toBe(total);
    for (const client of clients) {
      expect(client.seqs).toEqual(expectedSeqs);
      expect(client.texts).toEqual(reference);
    }
    // Within one sender, messages keep the order they were sent in.
    const fromFirst = reference.filter((text) => text.startsWith('from 0:'));
    expect(fromFirst).toEqual(Array.from({ length: MESSAGES_EACH }, (_, m) => `from 0: ${m}`));
    for (const client of clients) client.ws.close();
  }, 120_000);
});
