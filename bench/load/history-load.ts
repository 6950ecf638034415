import { summarize, type LatencySummary } from '../stats.ts';
import type { BenchUser } from '../lib/targets.ts';
import { DIALECTS } from './dialects.ts';
import { RawClient } from './raw-ws.ts';

/**
 * History reads against Parley, one request at a time so each latency is the server's answer
 * time and not a queue: the newest page, random older pages (seq anywhere in the preloaded
 * history), and reconnects that must catch up on exactly `catchUp` missed messages.
 */
export interface HistoryParams {
  port: number;
  reader: BenchUser;
  /** A user whose read position is `catchUp` behind, as after a real absence. */
  returning: BenchUser;
  lastSeq: number;
  pageSize: number;
  requests: number;
  catchUps: number;
  catchUp: number;
}

export interface HistoryResult {
  newestPage: LatencySummary;
  olderPage: LatencySummary;
  httpNewestPage: LatencySummary;
  /** From hello to `synced`, with `catchUp` messages in between. */
  catchUpHelloToSynced: LatencySummary;
  /** From opening the TCP connection to `synced`: what a reconnecting user waits. */
  catchUpFromConnect: LatencySummary;
  catchUpMessages: number;
}

export async function runHistory(params: HistoryParams): Promise<HistoryResult> {
  const client = await DIALECTS.parley.open(params.port, params.reader, true);
  let waiting: ((payload: Buffer) => void) | null = null;
  client.onFrame = (kind, payload) => {
    if (kind === 'history' && payload && waiting) waiting(payload);
  };
  const ask = (ref: number, before?: number) =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      waiting = (payload) => {
        const elapsed = performance.now() - started;
        const reply = JSON.parse(payload.toString()) as { ref: number; messages: { seq: number }[] };
        if (reply.ref !== ref || reply.messages.length !== params.pageSize) {
          reject(new Error(`unexpected history reply (ref ${reply.ref}, ${reply.messages.length} messages)`));
        }
        resolve(elapsed);
      };
      client.sendText(JSON.stringify({ type: 'history', ref, conv: 'world', limit: params.pageSize, ...(before ? { before } : {}) }));
    });

  // A few unmeasured requests warm up the statement cache and the JIT, as on a running server.
  for (let i = 0; i < 20; i++) await ask(i);
  const newest: number[] = [];
  const older: number[] = [];
  for (let i = 0; i < params.requests; i++) {
    newest.push(await ask(1000 + i));
    const before = params.pageSize + 1 + Math.floor(Math.random() * (params.lastSeq - params.pageSize));
    older.push(await ask(100_000 + i, before));
  }
  client.close();

  const http: number[] = [];
  const url = `http://127.0.0.1:${params.port}/api/conversations/world/messages?limit=${params.pageSize}`;
  const headers = { Authorization: `Bearer ${params.reader.token}` };
  for (let i = 0; i < params.requests + 20; i++) {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const body = (await response.json()) as { messages: unknown[] };
    if (body.messages.length !== params.pageSize) throw new Error('unexpected HTTP history reply');
    if (i >= 20) http.push(performance.now() - started);
  }

  const helloToSynced: number[] = [];
  const fromConnect: number[] = [];
  let received = 0;
  for (let i = 0; i < params.catchUps + 3; i++) {
    const opened = performance.now();
    const { hello, synced, messages } = await reconnect(params, params.returning);
    if (messages !== params.catchUp) throw new Error(`catch-up delivered ${messages} messages, expected ${params.catchUp}`);
    if (i < 3) continue;
    received += messages;
    helloToSynced.push(synced - hello);
    fromConnect.push(synced - opened);
  }
  return {
    newestPage: summarize(newest),
    olderPage: summarize(older),
    httpNewestPage: summarize(http),
    catchUpHelloToSynced: summarize(helloToSynced),
    catchUpFromConnect: summarize(fromConnect),
    catchUpMessages: received / Math.max(1, params.catchUps),
  };
}

async function reconnect(params: HistoryParams, user: BenchUser): Promise<{ hello: number; synced: number; messages: number }> {
  const client = await RawClient.connect({
    port: params.port,
    path: '/ws',
    full: false,
    classify: DIALECTS.parley.classify,
    headers: { Authorization: `Bearer ${user.token}` },
  });
  let messages = 0;
  const done = new Promise<number>((resolve, reject) => {
    client.onClose = () => reject(new Error('closed during catch-up'));
    client.onFrame = (kind) => {
      if (kind === 'message') messages++;
      else if (kind === 'synced') resolve(performance.now());
    };
  });
  const hello = performance.now();
  client.sendText(JSON.stringify({ type: 'hello', protocol: 1, cursors: { world: params.lastSeq - params.catchUp } }));
  const synced = await done;
  client.onClose = () => {};
  client.close();
  return { hello, synced, messages };
}
