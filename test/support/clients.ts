import WebSocket from 'ws';
import type { Message, PresenceChange, ServerFrame } from '../../src/protocol/index.ts';
import { ParleyApi } from '../../src/client/api.ts';
import { ParleyClientError } from '../../src/client/errors.ts';
import { nodeSession } from '../../src/client/node.ts';
import type { ChatSession, SessionOptions } from '../../src/client/session.ts';

export const PASSWORD = 'correct horse battery';

export async function registerUser(url: string, name: string, password = PASSWORD) {
  const api = new ParleyApi(url);
  const { user, token } = await api.register({ name, password });
  return { api, user, token };
}

/** A connected ChatSession that records what it receives. */
export interface Client {
  session: ChatSession;
  messages: Message[];
  presence: PresenceChange[];
  frames: { type: string; [key: string]: unknown }[];
  close(): void;
}

export async function connect(api: ParleyApi, options: Partial<SessionOptions> = {}): Promise<Client> {
  const session = nodeSession(api, { backoffMs: { initial: 50, max: 500 }, ...options });
  const client: Client = { session, messages: [], presence: [], frames: [], close: () => session.close() };
  session.on('message', (message) => client.messages.push(message));
  session.on('presence', (changes) => client.presence.push(...changes));
  for (const type of ['welcome', 'gap', 'conversation', 'read', 'error', 'ack', 'member', 'room'] as const) {
    session.on(type, (frame) => client.frames.push({ type, ...(frame as object) }));
  }
  const synced = new Promise<void>((resolve) => session.on('synced', () => resolve()));
  session.connect();
  await synced;
  return client;
}

/**
 * `promise`, or a failure naming `what` once it has been pending for `ms`: for a step that must
 * not wait for as long as a fault lasts (a paused database or Redis), where a hang would
 * otherwise last until the test's own timeout and say nothing.
 */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `check` holds, or fails after `timeoutMs` with `what` in the message. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The error code a client call was refused with, or 'OK' if it succeeded; any other failure is thrown. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (error instanceof ParleyClientError) return error.code;
    throw error;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let barriers = 0;

/**
 * Proves a negative without a timer: sends a world message (everyone hears it) and waits until
 * each client has it. A connection delivers events in the order they were committed, so whatever
 * was committed before the barrier and meant for a client has reached it by then, and whatever is
 * missing was never sent.
 */
export async function deliveredSoFar(sender: ParleyApi, receivers: readonly Client[]): Promise<void> {
  const text = `barrier ${++barriers}`;
  await sender.send('world', text);
  for (const receiver of receivers) await waitFor(() => receiver.messages.some((message) => message.text === text), `the barrier "${text}"`);
}

/** A bare WebSocket for feeding the server raw, possibly malformed frames. */
export async function rawSocket(url: string, token: string | null, headers: Record<string, string> = {}) {
  const wsUrl = url.replace(/^http/, 'ws') + '/ws';
  const ws = new WebSocket(wsUrl, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  const frames: ServerFrame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as ServerFrame));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    closed,
    send: (data: string | Buffer) => ws.send(data),
    async next(type: string, timeoutMs = 5000): Promise<ServerFrame> {
      let found: ServerFrame | undefined;
      await waitFor(() => (found = frames.find((frame) => frame.type === type)) !== undefined, `a ${type} frame`, timeoutMs);
      frames.splice(frames.indexOf(found!), 1);
      return found!;
    },
  };
}

/** The HTTP status a WebSocket handshake is refused with. */
export function handshakeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws', { headers });
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the handshake was accepted'));
    });
    ws.on('error', () => {});
  });
}

/** Every message of a conversation, oldest first, read page by page through the history API. */
export async function allMessages(api: ParleyApi, conv: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (let before: number | undefined; ; ) {
    const page = await api.history(conv, { limit: 100, ...(before ? { before } : {}) });
    messages.unshift(...page.messages);
    if (!page.hasMore) return messages;
    before = page.messages[0]!.seq;
  }
}
