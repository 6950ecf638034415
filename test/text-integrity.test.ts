import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { RoomApi } from '../src/client/rooms.ts';
import { WORLD, type ServerFrame } from '../src/protocol/index.ts';
import { offer, threeUsers } from './support/files.ts';
import { PASSWORD, connect, rawSocket, registerUser, waitFor, type Client } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const clients: Client[] = [];
beforeEach(async () => {
  server = await startTestServer({ restartable: true, flags: ['--send-rate', '100000', '--send-burst', '100000'] });
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

/** Ill-formed UTF-16 and NUL, as JSON carries them (`JSON.stringify` writes a lone surrogate as `\ud800`). */
const ILL_FORMED = {
  'a lone high surrogate': '\ud800',
  'a lone low surrogate inside text': 'a\udc00b',
  'a high surrogate at the end': 'hello \ud83d',
  'a low surrogate before a high one (reversed pair)': '\ude00\ud83d',
  'four thousand lone surrogates': '\ud800'.repeat(4000),
  'a NUL': 'a\u0000b',
};

/** Text that must come back exactly as sent: what was acknowledged is what is stored. */
const TRICKY = {
  'astral characters': '𝄞 music, 😀 emoji, 𠜎 CJK extension B',
  'combining marks, decomposed and precomposed kept apart': 'e\u0301 vs \u00e9, Z\u0351\u0334\u0322a\u0337\u0317l\u0335go',
  'right-to-left text with bidi marks and overrides': 'שלום עולם \u200fمرحبا\u200e \u202eevil.exe\u202c',
  'emoji ZWJ sequences and variation selectors': '👩‍👩‍👧‍👦 🏳️‍🌈 ❤️ ☺︎ 👍🏽',
  'control characters other than NUL': 'tab\there\nnew line\r\n\u0001\u001b[31mred\u001b[0m\u007f\u0085\u2028\u2029',
  'noncharacters, a BOM and the last code point': '\ufeff\ufffe\uffff\u{10ffff}\u{e0001}',
  'exactly 4,000 astral code points (8,000 UTF-16 units)': '😀'.repeat(4000),
};

describe('text that is not well-formed Unicode', () => {
  it('is refused in a send frame with TEXT_ILL_FORMED, never acknowledged, stored or delivered', async () => {
    const alice = await registerUser(server.url, 'alice');
    const watcher = await connect((await registerUser(server.url, 'watcher')).api);
    clients.push(watcher);
    const socket = await rawSocket(server.url, alice.token);
    socket.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await socket.next('synced');
    for (const [what, text] of Object.entries(ILL_FORMED)) {
      const clientId = `c${Object.keys(ILL_FORMED).indexOf(what)}`;
      socket.send(JSON.stringify({ type: 'send', conv: WORLD, clientId, text }));
      const error = (await socket.next('error')) as Extract<ServerFrame, { type: 'error' }>;
      expect([what, error.code, error.clientId, error.message]).toEqual([what, 'TEXT_ILL_FORMED', clientId, expect.stringMatching(/^Invalid send frame: text: /)]);
    }
    // A well-formed message after them is the first and only one stored.
    socket.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'fine', text: 'fine' }));
    expect(await socket.next('ack')).toMatchObject({ clientId: 'fine', seq: 1 });
    expect(socket.frames.filter((frame) => frame.type === 'ack')).toEqual([]);
    await waitFor(() => watcher.messages.length === 1, 'the one good message at the watcher');
    expect(watcher.messages.map((message) => message.text)).toEqual(['fine']);
    expect((await alice.api.history(WORLD)).messages.map((message) => message.text)).toEqual(['fine']);
  });

  it('is refused in every other string of a frame: ids are not echoed back ill-formed', async () => {
    const alice = await registerUser(server.url, 'alice');
    const socket = await rawSocket(server.url, alice.token);
    socket.send(JSON.stringify({ type: 'hello', protocol: 1, cursors: { '\ud800': 1 } }));
    expect(await socket.next('error')).toEqual({ type: 'error', code: 'TEXT_ILL_FORMED', message: 'Invalid hello frame: cursors.\ud800: not well-formed Unicode (an unpaired surrogate or NUL).' });
    socket.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await socket.next('synced');
    socket.send(JSON.stringify({ type: 'history', ref: 'h\udfff', conv: WORLD }));
    const history = (await socket.next('error')) as Extract<ServerFrame, { type: 'error' }>;
    expect([history.code, history.ref]).toEqual(['TEXT_ILL_FORMED', undefined]);
    socket.send(JSON.stringify({ type: 'ping', ref: 'ok', ['extra\u0000']: 1 }));
    expect(await socket.next('error')).toMatchObject({ code: 'TEXT_ILL_FORMED', ref: 'ok' });
    socket.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'id\ud800', text: 'hi' }));
    const send = (await socket.next('error')) as Extract<ServerFrame, { type: 'error' }>;
    expect([send.code, send.clientId]).toEqual(['TEXT_ILL_FORMED', undefined]);
    expect((await alice.api.history(WORLD)).messages).toEqual([]);
  });

  it('is refused in every HTTP body: names, passwords, messages, file names and types (400 TEXT_ILL_FORMED)', async () => {
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }).then(async (response) => [response.status, ((await response.json()) as { error: { code: string } }).error.code]);
    for (const text of Object.values(ILL_FORMED).slice(0, 4).concat('a\u0000b')) {
      expect(await post('/api/register', { name: text, password: PASSWORD })).toEqual([400, 'TEXT_ILL_FORMED']);
      expect(await post('/api/register', { name: 'someone', password: `${PASSWORD}${text}` })).toEqual([400, 'TEXT_ILL_FORMED']);
      expect(await post('/api/login', { name: 'alice', password: `${PASSWORD}${text}` })).toEqual([400, 'TEXT_ILL_FORMED']);
    }
    const { alice, conv } = await threeUsers(server.url);
    expect(await post(`/api/conversations/${WORLD}/messages`, { text: 'x\ud800' }, alice.token)).toEqual([400, 'TEXT_ILL_FORMED']);
    const file = { conv, clientId: 'f1', size: 1, type: 'text/plain', sha256: '0'.repeat(64) };
    expect(await post('/api/files', { ...file, name: 'report\udc00.pdf' }, alice.token)).toEqual([400, 'TEXT_ILL_FORMED']);
    expect(await post('/api/files', { ...file, name: 'report\u0000.pdf' }, alice.token)).toEqual([400, 'TEXT_ILL_FORMED']);
    expect(await post('/api/files', { ...file, name: 'report.pdf', type: 'text/\ud800' }, alice.token)).toEqual([400, 'TEXT_ILL_FORMED']);
    // Nothing of it was stored: no account, no message, no file.
    await expect(new ParleyApi(server.url, { token: alice.token }).user('someone')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await alice.api.history(WORLD)).messages).toEqual([]);
    expect(await alice.files.list({ state: 'all' })).toEqual([]);
  });

  it('is refused in room names and topics, new or changed (400 TEXT_ILL_FORMED), and nothing is stored', async () => {
    const alice = await registerUser(server.url, 'alice');
    const rooms = new RoomApi(alice.api);
    const room = await rooms.create({ name: 'class 5a', topic: 'fractions', visibility: 'public' });
    for (const text of [...Object.values(ILL_FORMED).slice(0, 4), 'a\u0000b']) {
      await expect(rooms.create({ name: `r${text}`, visibility: 'public' })).rejects.toMatchObject({ status: 400, code: 'TEXT_ILL_FORMED' });
      await expect(rooms.create({ name: 'r', topic: `t${text}`, visibility: 'public' })).rejects.toMatchObject({ status: 400, code: 'TEXT_ILL_FORMED' });
      await expect(rooms.update(room.id, { name: `r${text}` })).rejects.toMatchObject({ status: 400, code: 'TEXT_ILL_FORMED' });
      await expect(rooms.update(room.id, { topic: `t${text}` })).rejects.toMatchObject({ status: 400, code: 'TEXT_ILL_FORMED' });
    }
    expect(await rooms.info(room.id)).toMatchObject({ name: 'class 5a', topic: 'fractions' });
    expect((await rooms.directory()).rooms.map((listing) => listing.name)).toEqual(['class 5a']);
  });

  it('never reaches the store from an address: a name looked up with a percent-encoded NUL names nothing (404 before any lookup)', async () => {
    const alice = await registerUser(server.url, 'alice');
    const lookUp = async (path: string) => {
      const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${alice.token}` } });
      return [response.status, ((await response.json()) as { error?: { code: string } }).error?.code];
    };
    expect(await lookUp('/api/users/alice')).toEqual([200, undefined]);
    const found = await lookUp('/api/users/ali%00ce');
    expect(found).toEqual([404, 'NOT_FOUND']);
    // Refused at the edge, not by the lookup, whose answer says "user" (see postgres-server.test for why it matters).
    const reply = await fetch(`${server.url}/api/users/%00`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(((await reply.json()) as { error: { message: string } }).error.message).toBe('Nothing has that address.');
    // A lone surrogate cannot be percent-encoded as UTF-8 at all: bad UTF-8 is refused before any route.
    expect(await lookUp('/api/users/%ED%A0%80')).toEqual([400, 'BAD_REQUEST']);
  });

  it('is refused when a directory cursor smuggles it past the query check (400 BAD_REQUEST, not a cursor this server gave out)', async () => {
    const alice = await registerUser(server.url, 'alice');
    const rooms = new RoomApi(alice.api);
    for (const name of ['a', 'b']) await rooms.create({ name, visibility: 'public' });
    const page = await rooms.directory({ limit: 1 });
    expect(page.next).toEqual(expect.any(String));
    expect((await rooms.directory({ limit: 1, after: page.next! })).rooms.map((listing) => listing.name)).toEqual(['b']);
    // A cursor is base64url of JSON, and JSON's escapes carry what a percent-encoded query cannot.
    const [, id] = JSON.parse(Buffer.from(page.next!, 'base64url').toString('utf8')) as [string, string];
    const forged = (nameKey: string) => Buffer.from(JSON.stringify([nameKey, id])).toString('base64url');
    for (const text of [...Object.values(ILL_FORMED).slice(0, 4), 'a\u0000b']) {
      await expect(rooms.directory({ after: forged(text) })).rejects.toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    }
    await expect(rooms.directory({ after: Buffer.from(JSON.stringify(['a', 'not a room\ud800'])).toString('base64url') })).rejects.toMatchObject({ status: 400 });
  });
});

describe('well-formed text', () => {
  it('comes back exactly as acknowledged: live, in history over both transports, and after a restart', async () => {
    const alice = await registerUser(server.url, 'alice');
    const bob = await connect((await registerUser(server.url, 'bob')).api);
    clients.push(bob);
    const sender = await connect(alice.api);
    clients.push(sender);
    const sent: { seq: number; text: string }[] = [];
    for (const text of Object.values(TRICKY)) {
      const viaSocket = await sender.session.send(WORLD, text);
      const viaHttp = await alice.api.send(WORLD, text);
      sent.push({ seq: viaSocket.seq, text }, { seq: viaHttp.seq, text });
    }
    const expected = sent.map(({ seq, text }) => ({ seq, text }));
    await waitFor(() => bob.messages.length === sent.length, 'every message live at bob');
    expect(bob.messages.map(({ seq, text }) => ({ seq, text }))).toEqual(expected);
    const overHttp = async () => (await alice.api.history(WORLD, { limit: 100 })).messages.map(({ seq, text }) => ({ seq, text }));
    expect(await overHttp()).toEqual(expected);
    const overSocket = await bob.session.history(WORLD, { limit: 100 });
    expect(overSocket.messages.map(({ seq, text }) => ({ seq, text }))).toEqual(expected);
    for (const client of clients.splice(0)) client.close();
    await server.restart();
    expect(await overHttp()).toEqual(expected);
  });

  it('counts the length limit in code points: 4,000 astral characters pass, 4,001 do not', async () => {
    const alice = await registerUser(server.url, 'alice');
    await expect(alice.api.send(WORLD, '😀'.repeat(4000))).resolves.toMatchObject({ seq: 1 });
    await expect(alice.api.send(WORLD, '😀'.repeat(4001))).rejects.toMatchObject({ code: 'TEXT_TOO_LONG' });
  });

  it('keeps file names exactly, right-to-left and astral characters included', async () => {
    const { alice, bob, conv } = await threeUsers(server.url);
    const name = '\u202etxt.exe 报告 👩‍👩‍👧 e\u0301.pdf';
    const card = await offer(alice.files, conv, Buffer.from('x'), name);
    expect(card.name).toBe(name);
    expect((await bob.files.get(card.id)).name).toBe(name);
    expect((await bob.api.history(conv)).messages.map((message) => message.text)).toEqual([name]);
  });
});
