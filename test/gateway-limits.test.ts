import { afterEach, describe, expect, it } from 'vitest';
import { WORLD, type PresenceChange } from '../src/protocol/index.ts';
import { connect, registerUser, waitFor, type Client } from './support/clients.ts';
import { ManualClock } from './support/manual-clock.ts';
import { OPCODES, RawWebSocket, clientFrame, textFrame } from './support/raw-websocket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const clients: Client[] = [];
const raws: RawWebSocket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const raw of raws.splice(0)) raw.socket.destroy();
  await server.close();
});

async function start(flags: string[] = []) {
  const clock = new ManualClock();
  server = await startTestServer({ clock, flags });
  return clock;
}

async function raw(token: string) {
  const socket = await RawWebSocket.open(server.port, token);
  raws.push(socket);
  return socket;
}

const HELLO = textFrame({ type: 'hello', protocol: 1 });

describe('a client that stops reading', () => {
  it('is cut at --send-queue-bytes with 4008, and reads that close code whenever it reads again, after the grace too', async () => {
    const clock = await start(['--send-queue-bytes', '65536', '--send-rate', '100000', '--send-burst', '100000']);
    const slowUser = await registerUser(server.url, 'slow');
    const slow = await raw(slowUser.token);
    slow.write(HELLO);
    await waitFor(() => slow.texts().some((frame) => frame.type === 'synced'), 'synced');
    slow.socket.pause();

    const watcher = await connect((await registerUser(server.url, 'watcher')).api);
    clients.push(watcher);
    const sender = await connect((await registerUser(server.url, 'sender')).api);
    clients.push(sender);
    const offline = () => watcher.presence.some((change: PresenceChange) => change.user.name === 'slow' && !change.online);
    // The kernel's socket buffers take a few megabytes before the bound even starts to count.
    let sent = 0;
    while (!offline() && sent < 20_000) {
      await Promise.all(Array.from({ length: 100 }, () => sender.session.send(WORLD, 'x'.repeat(4000))));
      sent += 100;
      await clock.advance(50); // presence changes go out every 50 ms
    }
    expect(offline()).toBe(true);
    // Long after the server gave up, the client reads again: what the network held, then 4008.
    await clock.advance(5000);
    await clock.advance(5000);
    slow.socket.resume();
    await waitFor(() => slow.closeCode() !== null, "the slow client's close frame", 20_000);
    expect(slow.closeCode()).toBe(4008);
    expect(slow.framesAfterClose()).toBe(0);
    const delivered = slow.texts().filter((frame) => frame.type === 'message').length;
    expect(delivered).toBeLessThan(sent);
    // The others got everything.
    await waitFor(() => watcher.messages.length === sent, 'every message at the watcher');
  });
});

describe('a client catching up', () => {
  it('gets all of a catch-up larger than --send-queue-bytes when it reads: it is paced, not closed as too slow', async () => {
    await start(['--send-queue-bytes', '1048576', '--send-rate', '100000', '--send-burst', '100000']);
    const writer = await connect((await registerUser(server.url, 'writer')).api);
    clients.push(writer);
    // 1,000 missed messages (the most a catch-up replays) of 12 KB each: 12 MB against a 1 MiB queue.
    const text = '长'.repeat(4000);
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 100 }, () => writer.session.send(WORLD, text)));
    const { token } = await registerUser(server.url, 'returning');
    const reader = await raw(token);
    reader.write(textFrame({ type: 'hello', protocol: 1, cursors: { world: 0 } }));
    await waitFor(() => reader.texts().some((frame) => frame.type === 'synced') || reader.closeCode() !== null, 'synced (or a close)', 60_000);
    expect(reader.closeCode()).toBe(null);
    const seqs = reader.texts().filter((frame) => frame.type === 'message').map((frame) => (frame.message as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  }, 120_000);

  it('is closed 4008 when it stops reading mid catch-up and the live messages held back for it pass the bound', async () => {
    const clock = await start(['--send-queue-bytes', '1048576', '--send-rate', '100000', '--send-burst', '100000']);
    const writer = await connect((await registerUser(server.url, 'writer')).api);
    clients.push(writer);
    const text = '长'.repeat(4000);
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 100 }, () => writer.session.send(WORLD, text)));
    const watcher = await connect((await registerUser(server.url, 'watcher')).api);
    clients.push(watcher);
    const { token } = await registerUser(server.url, 'returning');
    const reader = await raw(token);
    reader.socket.pause();
    reader.write(textFrame({ type: 'hello', protocol: 1, cursors: { world: 0 } }));
    const presence = (online: boolean) => watcher.presence.some((change) => change.user.name === 'returning' && change.online === online);
    await waitFor(() => presence(true), 'the returning user online');
    // Its catch-up waits for it to read; what is committed meanwhile is held back, up to the bound.
    // The server's own count of such cuts says when it happened, to the round of 10 sends: the
    // watcher hears of it only after presence's coalescing window (50 ms of real time), and a loop
    // that goes on sending meanwhile overshot by 100 sends and more under load.
    const cuts = async () => Number(/^parley_slow_client_disconnects_total (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);
    let sent = 0;
    while ((await cuts()) === 0 && sent < 2000) {
      await Promise.all(Array.from({ length: 10 }, () => writer.session.send(WORLD, text)));
      sent += 10;
      await clock.advance(50);
    }
    await waitFor(() => presence(false), 'the returning user offline');
    // Bounded, not the 2,000 the loop allows: what the connection holds back (1 MiB of 12 KB
    // messages is about 90) passes the bound within that many sends, and the round of 10 on top.
    expect(sent).toBeLessThanOrEqual(100);
    reader.socket.resume();
    await waitFor(() => reader.closeCode() !== null, 'the close frame', 30_000);
    expect(reader.closeCode()).toBe(4008);
  }, 120_000);
});

describe('frame floods', () => {
  it('hello and 200 WebSocket pings in one write get the welcome and 200 pongs, not a silent close', async () => {
    await start();
    const { token } = await registerUser(server.url, 'pinger');
    const socket = await raw(token);
    const pings = Array.from({ length: 200 }, (_, i) => clientFrame(OPCODES.ping, `p${i}`));
    socket.write(HELLO, ...pings);
    await waitFor(() => socket.texts().some((frame) => frame.type === 'synced') && socket.count(OPCODES.pong) === 200, 'synced and 200 pongs');
    const pongs = socket.frames.filter((frame) => frame.opcode === OPCODES.pong).map((frame) => frame.payload.toString());
    expect(pongs).toEqual(Array.from({ length: 200 }, (_, i) => `p${i}`));
    expect(socket.texts()[0]).toMatchObject({ type: 'welcome' });
    expect(socket.closeCode()).toBe(null);
  });

  it('allows 1,000 frames of any kind at once, then closes with 4029 and handles nothing after the limit', async () => {
    await start();
    const { token, api } = await registerUser(server.url, 'flooder');
    const socket = await raw(token);
    // 1 hello + 500 WebSocket pings + 499 JSON pings = 1,000 frames: all answered.
    const wsPings = Array.from({ length: 500 }, () => clientFrame(OPCODES.ping));
    const jsonPings = Array.from({ length: 499 }, (_, i) => textFrame({ type: 'ping', ref: i }));
    socket.write(HELLO, ...wsPings, ...jsonPings);
    await waitFor(() => socket.texts().filter((frame) => frame.type === 'pong').length === 499 && socket.count(OPCODES.pong) === 500, 'every ping answered');
    await waitFor(() => socket.texts().some((frame) => frame.type === 'synced'), 'synced');
    expect(socket.closeCode()).toBe(null);
    // Frame 1,001, and a send behind it: closed with 4029, the send never handled.
    socket.write(clientFrame(OPCODES.ping), textFrame({ type: 'send', conv: WORLD, clientId: 'late', text: 'too late' }));
    await waitFor(() => socket.closeCode() !== null, 'the close frame');
    expect(socket.closeCode()).toBe(4029);
    expect(socket.count(OPCODES.pong)).toBe(500);
    expect(socket.framesAfterClose()).toBe(0);
    expect((await api.history(WORLD)).messages).toEqual([]);
  });

  it('refills at 500 frames per second: 500 more after a second pass, the 501st does not', async () => {
    const clock = await start();
    const { token } = await registerUser(server.url, 'steady');
    const socket = await raw(token);
    socket.write(HELLO, ...Array.from({ length: 999 }, () => clientFrame(OPCODES.ping)));
    await waitFor(() => socket.count(OPCODES.pong) === 999, '999 pongs');
    await clock.advance(1000);
    socket.write(...Array.from({ length: 500 }, () => clientFrame(OPCODES.ping)));
    await waitFor(() => socket.count(OPCODES.pong) === 1499, '500 more pongs');
    expect(socket.closeCode()).toBe(null);
    socket.write(clientFrame(OPCODES.ping));
    await waitFor(() => socket.closeCode() !== null, 'the close frame');
    expect(socket.closeCode()).toBe(4029);
  });

  it('a protocol error right behind a queued answer still gets its close frame (1002), after the answer', async () => {
    await start();
    const { token } = await registerUser(server.url, 'broken');
    const socket = await raw(token);
    socket.write(HELLO);
    await waitFor(() => socket.texts().some((frame) => frame.type === 'synced'), 'synced');
    // A JSON ping and a frame with a reserved opcode (0x3) in one write.
    socket.write(textFrame({ type: 'ping', ref: 'before' }), clientFrame(0x3, 'x'));
    await socket.ended;
    expect(socket.texts().filter((frame) => frame.type === 'pong')).toEqual([{ type: 'pong', ref: 'before' }]);
    expect(socket.closeCode()).toBe(1002);
  });
});

describe('deeply nested frames and bodies', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('refuse a frame nested thousands of levels deep with BAD_REQUEST, before hello too, and the server and the socket go on', async () => {
    await start();
    const user = await registerUser(server.url, 'deep');
    const socket = await raw(user.token);
    // 10 KB of brackets overflowed the stack of the recursive text check: the process ended.
    socket.write(clientFrame(OPCODES.text, `{"type":"hello","protocol":2,"cursors":${nested(5000)}}`));
    await waitFor(() => socket.texts().some((frame) => frame.type === 'error'), 'the refusal');
    expect(socket.texts().find((frame) => frame.type === 'error')).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('nested more than 32 levels deep'),
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    socket.write(HELLO);
    await waitFor(() => socket.texts().some((frame) => frame.type === 'synced'), 'the hello after it');
  });

  it('take 32 levels (the bound) and refuse 33, in a frame and in an HTTP body, with BAD_REQUEST', async () => {
    await start();
    const user = await registerUser(server.url, 'edge');
    const socket = await raw(user.token);
    socket.write(HELLO);
    await waitFor(() => socket.texts().some((frame) => frame.type === 'synced'), 'synced');
    // A history frame whose `before` holds 31 more levels: 32 in all, so past the nesting check to the schema.
    socket.write(clientFrame(OPCODES.text, `{"type":"history","conv":"world","ref":"at","before":${nested(31)}}`));
    socket.write(clientFrame(OPCODES.text, `{"type":"history","conv":"world","ref":"over","before":${nested(32)}}`));
    await waitFor(() => socket.texts().filter((frame) => frame.type === 'error').length === 2, 'both answers');
    const errors = socket.texts().filter((frame) => frame.type === 'error') as unknown as { ref: string; message: string }[];
    expect(errors.find((error) => error.ref === 'at')?.message).not.toContain('nested');
    expect(errors.find((error) => error.ref === 'over')).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('nested more than 32 levels deep') });
    for (const depth of [31, 32, 6000]) {
      const reply = await fetch(`${server.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"name":"edge","password":${nested(depth)}}` });
      const body = (await reply.json()) as { error: { code: string; message: string } };
      expect([depth, reply.status, body.error.code, body.error.message.includes('nested')]).toEqual([depth, 400, 'BAD_REQUEST', depth >= 32]);
    }
  });
});
