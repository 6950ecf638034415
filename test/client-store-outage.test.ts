/**
 * The clients while the server cannot reach its database: one `parley` on a private PostgreSQL,
 * which the test stops and starts again. The server refuses each send with STORE_UNAVAILABLE
 * (nothing stored); the client library keeps it pending with its client id and sends it again by
 * itself once the database is back, so each message is stored once and in the order written.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { ParleyClientError } from '../src/client/errors.ts';
import { FileApi } from '../src/client/files.ts';
import { nodeSession } from '../src/client/node.ts';
import type { SendsDelayed, SocketLike } from '../src/client/session.ts';
import { sendUntilStored } from '../src/client/store-retry.ts';
import { WORLD, dmId, type Message } from '../src/protocol/index.ts';
import { RoomApi } from '../src/client/rooms.ts';
import { errorText } from '../src/web/components/error-text.ts';
import { en } from '../src/web/i18n/en.ts';
import { zhCN } from '../src/web/i18n/zh-CN.ts';
import { ChatStore } from '../src/web/state/chat-store.ts';
import { allMessages, registerUser, sleep, waitFor } from './support/clients.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { startTestServer, type TestServer } from './support/server.ts';


/** A `ws` socket with the bearer token whose every outgoing `send` frame is noted, so a test sees each try. */
function recordingSocket(token: string, sent: { clientId: string; text: string }[]) {
  return (url: string): SocketLike => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const write = ws.send.bind(ws);
    ws.send = ((data: string) => {
      const frame = JSON.parse(data) as { type: string; clientId?: string; text?: string };
      if (frame.type === 'send') sent.push({ clientId: frame.clientId!, text: frame.text! });
      write(data);
    }) as typeof ws.send;
    return ws as unknown as SocketLike;
  };
}

/** A `ws` socket with the bearer token whose every outgoing frame is noted (its type, and its seq if any). */
function framesSocket(token: string, sent: { type: string; seq?: number }[]) {
  return (url: string): SocketLike => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const write = ws.send.bind(ws);
    ws.send = ((data: string) => {
      const { type, seq } = JSON.parse(data) as { type: string; seq?: number };
      sent.push({ type, ...(seq === undefined ? {} : { seq }) });
      write(data);
    }) as typeof ws.send;
    return ws as unknown as SocketLike;
  };
}

/** Whether a promise has settled yet, without waiting for it. */
function settledFlag(promise: Promise<unknown>): { settled: boolean } {
  const flag = { settled: false };
  promise.then(() => (flag.settled = true), () => (flag.settled = true));
  return flag;
}

describe.runIf(hasPostgres)('the clients while PostgreSQL is away', () => {
  const postgres = privatePostgres();
  let server: TestServer | null = null;
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await server?.close();
    server = null;
    await postgres().restart();
  });

  async function start() {
    server = await startTestServer({ flags: ['--database', await postgres().createDatabase()] });
    return registerUser(server.url, 'alice');
  }

  it('keep a refused send pending, send it again with the same client id once PostgreSQL is back, and store it once, in the order written', async () => {
    const alice = await start();
    const wire: { clientId: string; text: string }[] = [];
    const session = nodeSession(alice.api, { backoffMs: { initial: 50, max: 300 }, createSocket: recordingSocket(alice.token, wire) });
    cleanups.push(() => session.close());
    const delays: SendsDelayed[] = [];
    let flowing = 0;
    session.on('sendsDelayed', (delayed) => delays.push(delayed));
    session.on('sendsFlowing', () => flowing++);
    const synced = new Promise<void>((resolve) => session.on('synced', () => resolve()));
    session.connect();
    await synced;
    const before = await session.send(WORLD, 'before the outage', 'c0');

    await postgres().stop('fast');
    const texts = ['first while away', 'second while away', 'third while away'];
    const acks = texts.map((text, i) => session.send(WORLD, text, `c${i + 1}`));
    const flags = acks.map(settledFlag);
    await waitFor(() => delays.length >= 1, 'the session to say its sends are delayed', 10_000);
    // Refused, not acknowledged: nothing was stored. The first wait is the server's hint (1000 ms).
    expect(delays[0]).toEqual({ reason: 'STORE_UNAVAILABLE', retryInMs: 1000, pending: 3 });
    await waitFor(() => delays.length >= 2, 'a second try while PostgreSQL is still away', 10_000);
    expect(delays[1]!.retryInMs).toBeGreaterThanOrEqual(1000);
    expect(delays[1]!.retryInMs).toBeLessThanOrEqual(2000);
    expect(flags.map((flag) => flag.settled)).toEqual([false, false, false]);
    expect(flowing).toBe(0);
    // After the first refusal only the oldest goes again, alone.
    const retried = wire.slice(wire.findIndex((frame) => frame.clientId === 'c3') + 1);
    expect(new Set(retried.map((frame) => frame.clientId))).toEqual(new Set(['c1']));

    await postgres().restart();
    const acked = await Promise.all(acks);
    expect(flowing).toBe(1);
    expect(acked.map((ack) => ack.clientId)).toEqual(['c1', 'c2', 'c3']);
    expect(acked.map((ack) => ack.seq)).toEqual([before.seq + 1, before.seq + 2, before.seq + 3]);
    // Every try carried the message's own client id and text.
    for (const [i, text] of texts.entries()) {
      const tries = wire.filter((frame) => frame.clientId === `c${i + 1}`);
      expect(tries.length).toBeGreaterThanOrEqual(i === 0 ? 3 : 2);
      expect(new Set(tries.map((frame) => frame.text))).toEqual(new Set([text]));
    }
    const stored = await allMessages(alice.api, WORLD);
    expect(stored.map((message) => [message.seq, message.clientId, message.text])).toEqual([
      [before.seq, 'c0', 'before the outage'],
      ...texts.map((text, i) => [before.seq + i + 1, `c${i + 1}`, text]),
    ]);
  }, 60_000);

  it('store a read position refused while PostgreSQL is away quietly once it is back: no error, the newest position only, one frame per wait', async () => {
    const alice = await start();
    const bob = await registerUser(server!.url, 'bob');
    for (const text of ['one', 'two', 'three']) await bob.api.send(WORLD, text);
    const wire: { type: string; seq?: number }[] = [];
    const session = nodeSession(alice.api, { createSocket: framesSocket(alice.token, wire) });
    cleanups.push(() => session.close());
    const errors: unknown[] = [];
    const reads: number[] = [];
    session.on('error', (frame) => errors.push(frame));
    session.on('read', ({ conv, seq }) => conv === WORLD && reads.push(seq));
    const synced = new Promise<void>((resolve) => session.on('synced', () => resolve()));
    session.connect();
    await synced;
    const readFrames = () => wire.filter((frame) => frame.type === 'read').map((frame) => frame.seq);

    await postgres().stop('fast');
    session.markRead(WORLD, 1);
    await waitFor(() => readFrames().length === 1, 'the first read on the wire');
    await sleep(300); // refused meanwhile: a retry waits
    session.markRead(WORLD, 2);
    session.markRead(WORLD, 3);
    session.markRead(WORLD, 2); // never back
    await sleep(2800);
    // Nothing shown, nothing piled up: only the newest position went again, once per wait.
    expect(errors).toEqual([]);
    expect(reads).toEqual([]);
    const whileAway = readFrames();
    expect(whileAway[0]).toBe(1);
    expect(whileAway.length).toBeGreaterThanOrEqual(2);
    expect(whileAway.length).toBeLessThanOrEqual(4);
    expect(new Set(whileAway.slice(1))).toEqual(new Set([3]));

    await postgres().restart();
    await waitFor(() => reads.includes(3), 'the server to confirm the read position', 20_000);
    const world = (await alice.api.conversations()).conversations.find((summary) => summary.id === WORLD)!;
    expect({ readSeq: world.readSeq, unread: world.unread }).toEqual({ readSeq: 3, unread: 0 });
    const sent = readFrames().length;
    await sleep(2500);
    expect(readFrames().length).toBe(sent);
    expect(errors).toEqual([]);
  }, 60_000);

  it('say hello again on a new connection when the hello\'s catch-up is refused, instead of staying "syncing" for good', async () => {
    const alice = await start();
    let releaseHello!: () => void;
    const helloHeld = new Promise<void>((resolve) => (releaseHello = resolve));
    let connections = 0;
    // The first connection's hello waits until PostgreSQL is stopped: the handshake was fine, the catch-up cannot be read.
    const createSocket = (url: string): SocketLike => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${alice.token}` }, perMessageDeflate: false });
      const first = ++connections === 1;
      const write = ws.send.bind(ws);
      ws.send = ((data: string) => {
        if (first && (JSON.parse(data) as { type: string }).type === 'hello') void helloHeld.then(() => write(data));
        else write(data);
      }) as typeof ws.send;
      return ws as unknown as SocketLike;
    };
    const session = nodeSession(alice.api, { backoffMs: { initial: 200, max: 1000 }, createSocket });
    cleanups.push(() => session.close());
    const states: string[] = [];
    const errors: unknown[] = [];
    session.on('state', ({ state }) => states.push(state));
    session.on('error', (frame) => errors.push(frame));
    let synced = 0;
    session.on('synced', () => synced++);
    session.connect();
    await waitFor(() => states.includes('syncing'), 'the first connection to open');
    await postgres().stop('fast');
    releaseHello();
    await waitFor(() => states.includes('reconnecting'), 'the session to drop the connection whose hello was refused', 10_000);
    expect(errors).toEqual([]);
    expect(synced).toBe(0);
    await postgres().restart();
    await waitFor(() => synced === 1, 'a later connection to sync once PostgreSQL is back', 20_000);
    expect(session.state).toBe('online');
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(await session.send(WORLD, 'after the outage', 'after1')).toMatchObject({ clientId: 'after1' });
  }, 60_000);

  it('reject a send still waiting for PostgreSQL when the session is closed (nothing stored)', async () => {
    const alice = await start();
    const session = nodeSession(alice.api, { backoffMs: { initial: 50, max: 300 } });
    const delays: SendsDelayed[] = [];
    session.on('sendsDelayed', (delayed) => delays.push(delayed));
    const synced = new Promise<void>((resolve) => session.on('synced', () => resolve()));
    session.connect();
    await synced;
    await postgres().stop('fast');
    const ack = session.send(WORLD, 'given up', 'g1');
    const outcome = ack.then(() => 'acked', (error: unknown) => (error instanceof ParleyClientError ? error.code : String(error)));
    await waitFor(() => delays.length >= 1, 'the send to be delayed', 10_000);
    session.close();
    expect(await outcome).toBe('DISCONNECTED');
    await postgres().restart();
    expect((await allMessages(alice.api, WORLD)).map((message) => message.clientId)).not.toContain('g1');
  }, 60_000);

  it('sendUntilStored (the CLI\'s send over HTTP) tries again with the same client id until PostgreSQL is back, and the message is stored once', async () => {
    const alice = await start();
    await postgres().stop('fast');
    const delays: number[] = [];
    let flowing = 0;
    const ack = sendUntilStored(alice.api, WORLD, 'over HTTP while away', 'h1', {
      delayed: (retryInMs) => delays.push(retryInMs),
      flowing: () => flowing++,
    });
    const flag = settledFlag(ack);
    await waitFor(() => delays.length >= 2, 'two delayed tries over HTTP', 10_000);
    expect(delays[0]).toBe(1000);
    expect(flag.settled).toBe(false);
    await postgres().restart();
    const { clientId, seq } = await ack;
    expect({ clientId, flowing }).toEqual({ clientId: 'h1', flowing: 1 });
    const stored = await allMessages(alice.api, WORLD);
    expect(stored.filter((message) => message.clientId === 'h1').map((message) => [message.seq, message.text])).toEqual([[seq, 'over HTTP while away']]);
  }, 60_000);

  it('the web client\'s file offer waits for PostgreSQL like a message (saying so on its item, no error), then is offered once', async () => {
    const alice = await start();
    const bob = await registerUser(server!.url, 'bob');
    const conv = dmId(alice.user.id, bob.user.id);
    await bob.api.send(conv, 'send me the notes');
    const store = new ChatStore(alice.api, alice.user, { viewing: () => conv, onDirectMessage: () => {}, onSessionEnded: () => {} }, recordingSocket(alice.token, []));
    cleanups.push(() => store.stop());
    store.start();
    await waitFor(() => store.connection.value === 'online', 'the web store to be online');
    await postgres().stop('fast');
    const offered = store.files.offer(conv, new File(['the notes, in full'], 'notes.txt', { type: 'text/plain' }));
    const flag = settledFlag(offered);
    const item = () => store.files.preparing.value.find((preparing) => preparing.name === 'notes.txt');
    await waitFor(() => item()?.waitingForStore === true || item()?.error !== undefined, 'the offer to wait for the database', 10_000);
    await sleep(1500); // at least one retry refused meanwhile
    expect(item()).toMatchObject({ waitingForStore: true });
    expect(item()?.error).toBeUndefined();
    expect(flag.settled).toBe(false);

    await postgres().restart();
    const card = await offered;
    expect(card).toMatchObject({ name: 'notes.txt', state: 'offered' });
    expect(item()).toBeUndefined();
    const bobSees = await new FileApi(bob.api).list({ conv, state: 'all' });
    expect(bobSees.map((file) => [file.id, file.name])).toEqual([[card!.id, 'notes.txt']]);
  }, 60_000);

  it('the web client\'s room changes refused while PostgreSQL is away say, in English and Chinese, that the server\'s storage is temporarily unavailable and to try again', async () => {
    const alice = await start();
    const bob = await registerUser(server!.url, 'bob');
    const aliceRooms = new RoomApi(alice.api);
    const bobRooms = new RoomApi(bob.api);
    const club = await aliceRooms.create({ name: 'Book club', visibility: 'public' });
    const chess = await bobRooms.create({ name: 'Chess', visibility: 'public' });
    await postgres().stop('fast');
    // What the room dialogs do (new-room.tsx, invite-people.tsx, leave-room.tsx, room-settings.tsx,
    // room-directory.tsx, member-row.tsx): call RoomApi, and on failure show t(errorText(code)).
    const changes: [string, () => Promise<unknown>][] = [
      ['create', () => aliceRooms.create({ name: 'Choir', visibility: 'private' })],
      ['invite', () => aliceRooms.invite(club.id, [bob.user.id])],
      ['rename', () => aliceRooms.update(club.id, { name: 'Reading club' })],
      ['join', () => aliceRooms.join(chess.id)],
      ['leave', () => aliceRooms.leave(club.id)],
    ];
    for (const [change, attempt] of changes) {
      const failure = await attempt().then(() => null, (error: unknown) => error);
      expect(failure, change).toBeInstanceOf(ParleyClientError);
      expect({ change, code: (failure as ParleyClientError).code, status: (failure as ParleyClientError).status }).toEqual({ change, code: 'STORE_UNAVAILABLE', status: 503 });
      const key = errorText((failure as ParleyClientError).code);
      expect(en[key]).toMatch(/storage is temporarily unavailable.*try again/i);
      expect(zhCN[key]).toMatch(/存储暂时不可用.*请稍后再试/);
    }
    await postgres().restart();
    // Nothing was changed.
    const rooms = (await alice.api.conversations()).conversations.flatMap((summary) => (summary.room ? [summary.room.name] : []));
    expect(rooms).toEqual(['Book club']);
  }, 60_000);

  it('the web client keeps the message "sending" and says the sends are delayed while PostgreSQL is away, then shows it sent and clears the notice', async () => {
    const alice = await start();
    const store = new ChatStore(
      alice.api,
      alice.user,
      { viewing: () => WORLD, onDirectMessage: () => {}, onSessionEnded: () => {} },
      recordingSocket(alice.token, []),
    );
    cleanups.push(() => store.stop());
    store.start();
    await waitFor(() => store.connection.value === 'online', 'the web store to be online');
    await postgres().stop('fast');
    store.send(WORLD, 'typed in the browser', 'web1');
    const timeline = store.timeline(WORLD);
    await waitFor(() => store.sendsDelayed.value !== null, 'the store to note the delayed sends', 10_000);
    expect(store.sendsDelayed.value).toMatchObject({ reason: 'STORE_UNAVAILABLE', pending: 1 });
    await sleep(1500); // at least one retry refused meanwhile
    expect(timeline.echo('web1')?.status).toBe('sending');
    await postgres().restart();
    await waitFor(() => timeline.messages.value.some((message) => message.clientId === 'web1'), 'the message to be confirmed', 20_000);
    expect(store.sendsDelayed.value).toBeNull();
    expect(timeline.echo('web1')).toBeUndefined();
    expect((await allMessages(alice.api, WORLD)).filter((message) => message.clientId === 'web1').length).toBe(1);
  }, 60_000);
});
