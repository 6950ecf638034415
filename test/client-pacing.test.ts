import { afterEach, describe, expect, it } from 'vitest';
import { nodeSession } from '../src/client/node.ts';
import { WORLD } from '../src/protocol/index.ts';
import { registerUser } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
afterEach(async () => {
  await server.close();
});

describe('the client library under the server limits', () => {
  it('delivers 600 messages written while offline, each once, paced under the send and frame limits (never closed 4029)', async () => {
    // 200 sends a second in bursts of 20: a retry storm of 580 rate-limited sends every 5 ms
    // would pass the frame limit (1,000 at once, 500 a second) at once.
    server = await startTestServer({ flags: ['--send-rate', '200', '--send-burst', '20'] });
    const alice = await registerUser(server.url, 'alice');
    const session = nodeSession(alice.api, { backoffMs: { initial: 50, max: 200 } });
    const closes: number[] = [];
    session.on('state', ({ closeCode }) => closeCode !== undefined && closes.push(closeCode));
    const texts = Array.from({ length: 600 }, (_, i) => `offline note ${i + 1}`);
    const acks = Promise.all(texts.map((text) => session.send(WORLD, text)));
    session.connect();
    const acked = await acks;
    session.close();
    expect(closes).toEqual([]);
    // A send refused as too fast goes again after the wait, so one acknowledged meanwhile may
    // overtake it: each is stored once, the seqs are gap-free.
    expect(acked.map((ack) => ack.seq).sort((a, b) => a - b)).toEqual(texts.map((_, i) => i + 1));
    const stored = [];
    for (let before: number | undefined; ; ) {
      const page = await alice.api.history(WORLD, { limit: 100, ...(before ? { before } : {}) });
      stored.unshift(...page.messages.map((message) => message.text));
      if (!page.hasMore) break;
      before = page.messages[0]!.seq;
    }
    expect(stored.sort()).toEqual([...texts].sort());
  }, 30_000);
});
