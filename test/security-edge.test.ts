import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PASSWORD, registerUser } from './support/clients.ts';
import { rawRequest, type RawReply } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let port: number;
let token: string;
beforeAll(async () => {
  server = await startTestServer({ flags: ['--public-url', 'https://chat.example.org', '--allow-origin', 'https://app.example.net'] });
  port = server.port;
  ({ token } = await registerUser(server.url, 'alice'));
});
afterAll(async () => {
  await server.close();
});

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** The status and headers a WebSocket handshake gets, or 101 when it is accepted. */
function handshake(headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
      ws.terminate();
    });
    ws.on('open', () => {
      resolve({ status: 101, headers: {} });
      ws.close();
    });
    ws.on('error', () => {});
  });
}

/** A hand-made upgrade request (bearer-authenticated), with some of its handshake headers replaced. */
function rawUpgrade(overrides: Record<string, string>): Promise<RawReply> {
  const { method = 'GET', ...headers } = overrides;
  return rawRequest(server.url, {
    method,
    path: '/ws',
    headers: {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      authorization: `Bearer ${token}`,
      ...headers,
    },
  });
}

/** A fresh cookie session for alice, so a test can log it out. */
async function cookieSession(): Promise<string> {
  const reply = await rawRequest(server.url, { method: 'POST', path: '/api/login', ...json({ name: 'alice', password: PASSWORD }) });
  expect(reply.status).toBe(200);
  return String(reply.headers['set-cookie']).split(';')[0]!;
}

describe('DNS rebinding: the Host header', () => {
  it('refuses a host name the server was not told about, with 421 HOST_NOT_ALLOWED, on every kind of request', async () => {
    const host = `evil.example:${port}`;
    const origin = `http://${host}`;
    const register = await rawRequest(server.url, { method: 'POST', path: '/api/register', ...json({ name: 'mallory', password: PASSWORD }), headers: { 'content-type': 'application/json', host, origin } });
    expect([register.status, register.code]).toEqual([421, 'HOST_NOT_ALLOWED']);
    const history = await rawRequest(server.url, { path: '/api/conversations/world/messages', headers: { host, authorization: `Bearer ${token}` } });
    expect([history.status, history.code]).toEqual([421, 'HOST_NOT_ALLOWED']);
    const page = await rawRequest(server.url, { path: '/', headers: { host, accept: 'text/html' } });
    expect([page.status, page.code]).toEqual([421, 'HOST_NOT_ALLOWED']);
    const health = await rawRequest(server.url, { path: '/healthz', headers: { host } });
    expect(health.status).toBe(421);
    const socket = await handshake({ host, origin, authorization: `Bearer ${token}` });
    expect(socket.status).toBe(421);
    // Nothing was registered through the rebound name.
    const login = await rawRequest(server.url, { method: 'POST', path: '/api/login', ...json({ name: 'mallory', password: PASSWORD }) });
    expect(login.code).toBe('WRONG_CREDENTIALS');
  });

  it('serves loopback names, IP addresses, *.localhost and the --public-url host in any case', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`, `app.localhost:${port}`, '192.168.1.20', 'chat.example.org', 'CHAT.Example.org.:443']) {
      const reply = await rawRequest(server.url, { path: '/api/me', headers: { host, authorization: `Bearer ${token}` } });
      expect([host, reply.status]).toEqual([host, 200]);
    }
    expect((await handshake({ host: 'chat.example.org', origin: 'https://chat.example.org', authorization: `Bearer ${token}` })).status).toBe(101);
  });

  it('refuses names that only look like served ones', async () => {
    for (const host of ['chat.example.org.evil.example', 'evilchat.example.org', 'sub.chat.example.org', 'localhost.evil.example', '127.0.0.1.nip.io', 'a b', 'user@chat.example.org']) {
      const reply = await rawRequest(server.url, { path: '/api/me', headers: { host, authorization: `Bearer ${token}` } });
      expect([host, reply.status, reply.code]).toEqual([host, 421, 'HOST_NOT_ALLOWED']);
    }
  });
});

describe('cross-origin requests', () => {
  it('refuses logout and a file decision with a foreign Origin and the session cookie, and the session survives', async () => {
    const cookie = await cookieSession();
    for (const origin of ['http://evil.example', `http://localhost:${port + 1}`, 'http://chat.example.org', 'null']) {
      const logout = await rawRequest(server.url, { method: 'POST', path: '/api/logout', headers: { cookie, origin } });
      expect([origin, logout.status, logout.code]).toEqual([origin, 403, 'FORBIDDEN_ORIGIN']);
      const accept = await rawRequest(server.url, { method: 'POST', path: '/api/files/AAAAAAAAAAAAAAAAAAAAAA/accept', headers: { cookie, origin } });
      expect([accept.status, accept.code]).toEqual([403, 'FORBIDDEN_ORIGIN']);
    }
    expect((await rawRequest(server.url, { path: '/api/me', headers: { cookie } })).status).toBe(200);
  });

  it('refuses every state-changing route, known or not, from a foreign origin before the route runs', async () => {
    const cookie = await cookieSession();
    const routes: [string, string][] = [
      ['POST', '/api/register'],
      ['POST', '/api/login'],
      ['POST', '/api/logout'],
      ['POST', '/api/conversations/world/messages'],
      ['POST', '/api/files'],
      ['POST', '/api/files/AAAAAAAAAAAAAAAAAAAAAA/accept'],
      ['POST', '/api/files/AAAAAAAAAAAAAAAAAAAAAA/decline'],
      ['POST', '/api/files/AAAAAAAAAAAAAAAAAAAAAA/cancel'],
      ['POST', '/api/files/AAAAAAAAAAAAAAAAAAAAAA/delivered'],
      ['PATCH', '/api/files/AAAAAAAAAAAAAAAAAAAAAA/upload'],
      ['DELETE', '/api/anything'],
      ['PUT', '/api/me'],
      ['POST', '/api/logout/everywhere'],
      // The room routes, which came after this check: it runs before any route, so it holds them too.
      ['POST', '/api/rooms'],
      ['PATCH', '/api/rooms/room:AAAAAAAAAAAA'],
      ['POST', '/api/rooms/room:AAAAAAAAAAAA/join'],
      ['POST', '/api/rooms/room:AAAAAAAAAAAA/leave'],
      ['POST', '/api/rooms/room:AAAAAAAAAAAA/members'],
      ['DELETE', '/api/rooms/room:AAAAAAAAAAAA/members/2'],
      ['PUT', '/api/rooms/room:AAAAAAAAAAAA/members/2/role'],
    ];
    for (const [method, path] of routes) {
      const reply = await rawRequest(server.url, { method, path, body: '{}', headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' } });
      expect([method, path, reply.status, reply.code]).toEqual([method, path, 403, 'FORBIDDEN_ORIGIN']);
    }
    const before = (await rawRequest(server.url, { path: '/api/conversations/world/messages', headers: { cookie } })).body;
    expect(JSON.parse(before).messages).toEqual([]);
  });

  it('refuses a request a browser marks as same-site or cross-site without an Origin, except a navigation', async () => {
    const cookie = await cookieSession();
    for (const site of ['same-site', 'cross-site']) {
      const post = await rawRequest(server.url, { method: 'POST', path: '/api/logout', headers: { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': 'no-cors' } });
      expect([post.status, post.code]).toEqual([403, 'FORBIDDEN_ORIGIN']);
      const image = await rawRequest(server.url, { path: '/api/files/AAAAAAAAAAAAAAAAAAAAAA/content', headers: { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': 'no-cors' } });
      expect(image.status).toBe(403);
      const link = await rawRequest(server.url, { path: '/api/me', headers: { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate' } });
      expect(link.status).toBe(200);
    }
    expect((await rawRequest(server.url, { path: '/api/me', headers: { cookie } })).status).toBe(200);
  });

  it('accepts state changes from its own origin, the --public-url origin, an --allow-origin origin, and non-browsers', async () => {
    for (const headers of <Record<string, string>[]>[
      { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' },
      { origin: `http://localhost:${port}`, host: `localhost:${port}` },
      { origin: 'https://chat.example.org' },
      { origin: 'https://app.example.net' },
      { 'sec-fetch-site': 'none' },
      {},
    ]) {
      const cookie = await cookieSession();
      const logout = await rawRequest(server.url, { method: 'POST', path: '/api/logout', headers: { cookie, ...headers } });
      expect([headers, logout.status]).toEqual([headers, 204]);
      expect((await rawRequest(server.url, { path: '/api/me', headers: { cookie } })).status).toBe(401);
    }
  });
});

describe('request bodies', () => {
  it('answers JSON sent as text/plain, or with no type, with 415 on every route that takes a body', async () => {
    const body = JSON.stringify({ name: 'bob', password: PASSWORD });
    const room = 'room:AAAAAAAAAAAA';
    const routes: [string, string][] = [
      ['POST', '/api/register'],
      ['POST', '/api/login'],
      ['POST', '/api/conversations/world/messages'],
      ['POST', '/api/files'],
      ['POST', '/api/rooms'],
      ['PATCH', `/api/rooms/${room}`],
      ['POST', `/api/rooms/${room}/members`],
      ['PUT', `/api/rooms/${room}/members/2/role`],
    ];
    for (const [method, path] of routes) {
      for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const reply = await rawRequest(server.url, { method, path, body, headers: { 'content-type': type, authorization: `Bearer ${token}` } });
        expect([path, type, reply.status, reply.code]).toEqual([path, type, 415, 'UNSUPPORTED_MEDIA_TYPE']);
      }
      const untyped = await rawRequest(server.url, { method, path, body, headers: { authorization: `Bearer ${token}` } });
      expect([path, untyped.status]).toEqual([path, 415]);
    }
    expect((await rawRequest(server.url, { method: 'POST', path: '/api/login', ...json({ name: 'bob', password: PASSWORD }) })).code).toBe('WRONG_CREDENTIALS');
  });
});

describe('security headers', () => {
  const expected = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-resource-policy': 'same-origin',
  };

  it('are on refused WebSocket handshakes (401, 403, 421) as on every HTTP answer', async () => {
    const refused = [
      await handshake({}),
      await handshake({ origin: 'https://evil.example', authorization: `Bearer ${token}` }),
      await handshake({ host: 'evil.example', authorization: `Bearer ${token}` }),
    ];
    expect(refused.map((reply) => reply.status)).toEqual([401, 403, 421]);
    for (const reply of refused) expect(reply.headers).toMatchObject(expected);
    // Handshakes that ws itself would have refused with its own bare answer.
    const malformed: [Record<string, string>, number][] = [
      [{ 'sec-websocket-version': '12' }, 400],
      [{ 'sec-websocket-key': 'not a key' }, 400],
      [{ upgrade: 'websocket', method: 'POST' }, 400],
    ];
    for (const [headers, status] of malformed) {
      const reply = await rawUpgrade(headers);
      expect([headers, reply.status, reply.code]).toEqual([headers, status, 'BAD_REQUEST']);
      expect(reply.headers).toMatchObject(expected);
    }
    expect((await rawUpgrade({ 'sec-websocket-version': '12' })).headers['sec-websocket-version']).toBe('13, 8');
    for (const path of ['/api/me', '/healthz', '/nowhere']) {
      expect((await rawRequest(server.url, { path, headers: { authorization: `Bearer ${token}` } })).headers).toMatchObject(expected);
    }
  });

  it('are on the answers to requests the HTTP parser cannot read, which come in the catalogue’s format, and the connection closes', async () => {
    const cases: [string, string, number, string][] = [
      ['a raw non-ASCII byte in the path', `GET /api/\u00ff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 400, 'BAD_REQUEST'],
      ['an invalid header name', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n', 400, 'BAD_REQUEST'],
      ['a CR inside a header value', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\rb\r\n\r\n', 400, 'BAD_REQUEST'],
      ['both Content-Length and Transfer-Encoding', 'POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'BAD_REQUEST'],
      ['20 KB of headers', `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ];
    for (const [what, request, status, code] of cases) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from(request, 'latin1')));
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString('utf8')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      const headers = Object.fromEntries(head.split('\r\n').slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      expect([what, head.split('\r\n')[0]]).toEqual([what, `HTTP/1.1 ${status} ${code}`]);
      expect([what, headers]).toMatchObject([what, expected]);
      expect([what, (JSON.parse(body) as { error: { code: string } }).error.code]).toEqual([what, code]);
    }
  });
});
