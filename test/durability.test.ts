import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { nodeSession } from '../src/client/node.ts';
import type { ChatSession } from '../src/client/session.ts';
import { WORLD, dmId, type Message } from '../src/protocol/index.ts';
import { allMessages, PASSWORD, waitFor } from './support/clients.ts';
import { startFrontDoor } from './support/front-door.ts';
import { serveProcess, type ParleyProcess } from './support/parley-process.ts';

/**
 * kill -9 while clients send: every acknowledged message must be stored exactly once, at the seq
 * its ack gave, with gap-free seqs in every conversation. `npm test` kills the server 3 times;
 * `PARLEY_KILLS=<n>` kills it more often (the long run; `PARLEY_FULL_TESTS=1`: 10 times), `PARLEY_FUZZ_SEED` moves the kill points.
 */
const KILLS = Math.max(1, Number(process.env.PARLEY_KILLS) || (process.env.PARLEY_FULL_TESTS === '1' ? 10 : 3));
const SEED = Number(process.env.PARLEY_FUZZ_SEED) || 20261201;
const USERS = 4;
/** Sends each client keeps going at once (the client library paces them further). */
const BATCH = 40;

let server: ParleyProcess | null = null;
let door: Awaited<ReturnType<typeof startFrontDoor>> | null = null;
const sessions: ChatSession[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  server?.child.kill('SIGKILL');
  server = null;
  await door?.close();
  door = null;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A small seeded generator (mulberry32): the kill points are the same on every run of a seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}


describe('durability under kill -9', () => {
  it(
    `stores every acknowledged message exactly once, at its acknowledged seq, with gap-free seqs, across ${KILLS} SIGKILLs of the server`,
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'parley-kill-'));
      dirs.push(dataDir);
      const flags = ['--data', dataDir, '--send-rate', '100000', '--send-burst', '100000'];
      server = await serveProcess(['--port', '0', ...flags]);
      // Clients reach every incarnation of the server at one address: a restarted server takes any
      // free port (asking for the old one back races every other process on the machine).
      door = await startFrontDoor(() => server!.port);
      const url = `http://127.0.0.1:${door.port}`;
      const apis = await Promise.all(Array.from({ length: USERS }, (_, i) => new ParleyApi(url).register({ name: `writer${i}`, password: PASSWORD }).then(async (reply) => ({ reply, api: new ParleyApi(url, { token: reply.token }) }))));
      const users = apis.map(({ reply }) => reply.user);

      /** Every send: its conversation and text, and its ack once it came. */
      const sent = new Map<string, { conv: string; text: string; sender: number; ack?: { seq: number; conv: string } }>();
      let acked = 0;
      let stopping = false;
      const loops = apis.map(async ({ api }, i) => {
        const session = nodeSession(api, { backoffMs: { initial: 50, max: 300 } });
        sessions.push(session);
        session.connect();
        // The world and a DM with the next writer, in turn.
        const convs = [WORLD, dmId(users[i]!.id, users[(i + 1) % USERS]!.id)];
        for (let n = 0; !stopping; n += BATCH) {
          await Promise.all(
            Array.from({ length: BATCH }, (_, k) => {
              const clientId = `w${i}m${n + k}`;
              const conv = convs[(n + k) % 2]!;
              const text = `writer ${i}, message ${n + k}`;
              sent.set(clientId, { conv, text, sender: users[i]!.id });
              return session.send(conv, text, clientId).then((ack) => {
                sent.get(clientId)!.ack = { seq: ack.seq, conv: ack.conv };
                acked++;
              });
            }),
          );
        }
      });

      const next = random(SEED);
      for (let kill = 1; kill <= KILLS; kill++) {
        // Somewhere in the next few hundred acknowledgements, with sends on the wire.
        const target = acked + 100 + Math.floor(next() * 400);
        await waitFor(() => acked >= target, `${target} acknowledgements before kill ${kill}`, 60_000);
        // The kill lands among sends on the wire: sent, perhaps committed, not acknowledged.
        expect(sent.size - acked).toBeGreaterThan(0);
        server.child.kill('SIGKILL');
        await server.exited;
        server = await serveProcess(['--port', '0', ...flags]);
      }
      const afterLast = acked + 100;
      await waitFor(() => acked >= afterLast, 'sends to go on after the last restart', 60_000);
      stopping = true;
      // Every send still waiting is sent again with its client id until it is acknowledged.
      await Promise.all(loops);

      const reader = apis[0]!.api;
      const convs = new Set([...sent.values()].map((send) => send.conv));
      const stored = new Map<string, Message>();
      for (const conv of convs) {
        const reading = conv === WORLD ? reader : apis.find(({ reply }) => conv.split(':').includes(String(reply.user.id)))!.api;
        const messages = await allMessages(reading, conv);
        expect([conv, messages.map((message) => message.seq)]).toEqual([conv, messages.map((_, i) => i + 1)]);
        for (const message of messages) {
          expect(stored.has(message.clientId)).toBe(false);
          stored.set(message.clientId, message);
        }
      }
      expect(acked).toBe(sent.size);
      expect(stored.size).toBe(sent.size);
      for (const [clientId, send] of sent) {
        const message = stored.get(clientId);
        expect({ clientId, conv: message?.conv, seq: message?.seq, text: message?.text, sender: message?.sender.id }).toEqual({
          clientId,
          conv: send.conv,
          seq: send.ack!.seq,
          text: send.text,
          sender: send.sender,
        });
      }
    },
    120_000 + KILLS * 30_000,
  );
});
