import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { ParleyClientError } from '../src/client/errors.ts';
import { PASSWORD, handshakeStatus, registerUser } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

async function failure(promise: Promise<unknown>): Promise<ParleyClientError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ParleyClientError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('accounts', () => {
  it('registers a user, logs them in with a session cookie and a token, and knows who they are', async () => {
    const { user, token } = await registerUser(server.url, '小明');
    expect(user.name).toBe('小明');
    expect(token.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url

    const response = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '小明', password: PASSWORD }),
    });
    expect(response.status).toBe(200);
    const cookie = response.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^parley_session=[\w-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');

    const me = await fetch(`${server.url}/api/me`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(await me.json()).toEqual({ user });
  });

  it('answers "who is this session" with 200 whether signed in or not, and never caches it', async () => {
    const { user, token } = await registerUser(server.url, 'alice');
    const ask = (headers: Record<string, string> = {}) => fetch(`${server.url}/api/session`, { headers });
    for (const response of [await ask(), await ask({ cookie: 'parley_session=' + 'x'.repeat(43) }), await ask({ authorization: 'Bearer nonsense' })]) {
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ user: null });
    }
    const signedIn = await ask({ cookie: `parley_session=${token}` });
    expect(signedIn.headers.get('cache-control')).toBe('no-store');
    expect(await signedIn.json()).toEqual({ user });
    expect(await new ParleyApi(server.url, { token }).session()).toEqual({ user });
  });

  it('refuses a name that is taken, also when it differs only in case', async () => {
    await registerUser(server.url, 'Alice');
    for (const name of ['Alice', 'alice', 'ALICE']) {
      const error = await failure(new ParleyApi(server.url).register({ name, password: PASSWORD }));
      expect(error.code).toBe('NAME_TAKEN');
      expect(error.status).toBe(409);
    }
  });

  it('refuses invalid names and short passwords with their own codes', async () => {
    const api = new ParleyApi(server.url);
    for (const name of ['', 'a b', '<script>', 'x'.repeat(33), 'semi;colon']) {
      expect((await failure(api.register({ name, password: PASSWORD }))).code).toBe('NAME_INVALID');
    }
    expect((await api.register({ name: 'x'.repeat(32), password: PASSWORD })).user.name).toHaveLength(32);
    expect((await failure(api.register({ name: 'shorty', password: '1234567' }))).code).toBe('PASSWORD_INVALID');
    expect((await api.register({ name: 'eight', password: 'k7#pQ2!z' })).user.name).toBe('eight');
  });

  it('normalises names to NFC, so the composed and decomposed forms are one account', async () => {
    const composed = 'Zoë';
    const decomposed = 'Zoe\u0308';
    await registerUser(server.url, decomposed);
    const error = await failure(new ParleyApi(server.url).register({ name: composed, password: PASSWORD }));
    expect(error.code).toBe('NAME_TAKEN');
    const { user } = await new ParleyApi(server.url).login({ name: composed, password: PASSWORD });
    expect(user.name).toBe(composed);
  });

  it('refuses a wrong password and an unknown name with the same error', async () => {
    await registerUser(server.url, 'bob');
    const wrong = await failure(new ParleyApi(server.url).login({ name: 'bob', password: 'not the password' }));
    const unknown = await failure(new ParleyApi(server.url).login({ name: 'nobody', password: PASSWORD }));
    expect(wrong.code).toBe('WRONG_CREDENTIALS');
    expect(wrong.status).toBe(401);
    expect(unknown.code).toBe('WRONG_CREDENTIALS');
  });

  it('stores only an argon2id hash with a per-user salt, never the password', async () => {
    await registerUser(server.url, 'carol');
    await registerUser(server.url, 'dave');
    const db = new Database(join(server.dataDir, 'parley.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT password_hash FROM users').all() as { password_hash: string }[];
    db.close();
    expect(rows).toHaveLength(2);
    for (const { password_hash } of rows) {
      expect(password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      expect(password_hash).not.toContain(PASSWORD);
    }
    const salt = (hash: string) => hash.split('$')[4];
    expect(salt(rows[0]!.password_hash)).not.toBe(salt(rows[1]!.password_hash));
  });

  it('rate limits failed logins per account and address and says when to try again, even for the right password', async () => {
    await registerUser(server.url, 'erin');
    const api = new ParleyApi(server.url);
    for (let i = 0; i < 5; i++) {
      expect((await failure(api.login({ name: 'erin', password: `wrong-${i}-password` }))).code).toBe('WRONG_CREDENTIALS');
    }
    const limited = await failure(api.login({ name: 'erin', password: PASSWORD }));
    expect(limited.code).toBe('LOGIN_RATE_LIMITED');
    expect(limited.status).toBe(429);
    expect(limited.message).toMatch(/try again in \d+ s/);
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    // Another account from the same address is not locked by erin's failures.
    await registerUser(server.url, 'frank');
    expect((await api.login({ name: 'frank', password: PASSWORD })).user.name).toBe('frank');
  });

  it('rate limits failed logins per address across accounts', async () => {
    const api = new ParleyApi(server.url);
    for (let i = 0; i < 50; i++) {
      await failure(api.login({ name: `ghost${i}`, password: PASSWORD }));
    }
    expect((await failure(api.login({ name: 'ghost-next', password: PASSWORD }))).code).toBe('LOGIN_RATE_LIMITED');
  });

  it('logs out: the token stops working and its open sockets are closed with 4001', async () => {
    const { api, token } = await registerUser(server.url, 'gina');
    const ws = (await import('ws')).default;
    const socket = new ws(server.url.replace('http', 'ws') + '/ws', { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await api.logout();
    expect(await closed).toBe(4001);
    const me = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(401);
    expect(await handshakeStatus(server.url, { authorization: `Bearer ${token}` })).toBe(401);
  });

  it('answers malformed and oversized bodies with their codes', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${server.url}/api/register`, { method: 'POST', headers: { 'content-type': type }, body });
    const code = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

    let response = await post('{"name": "x", ');
    expect([response.status, await code(response)]).toEqual([400, 'BAD_JSON']);
    response = await post(JSON.stringify({ name: ['x'], password: PASSWORD }));
    expect([response.status, await code(response)]).toEqual([400, 'BAD_REQUEST']);
    response = await post(JSON.stringify({ name: 'x', password: { $gt: '' } }));
    expect([response.status, await code(response)]).toEqual([400, 'BAD_REQUEST']);
    response = await post('name=x', 'application/x-www-form-urlencoded');
    expect([response.status, await code(response)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    // PROTOCOL.md: JSON bodies of up to 16 KiB. One of exactly 16,384 bytes is read (and its
    // 16 KB password refused by the schema); one byte more is not read at all.
    const sized = (bytes: number) => {
      const [head, tail] = ['{"name":"x","password":"', '"}'];
      return head + 'p'.repeat(bytes - head.length - tail.length) + tail;
    };
    response = await post(sized(16 * 1024));
    expect([response.status, await code(response)]).toEqual([400, 'BAD_REQUEST']);
    response = await post(sized(16 * 1024 + 1));
    expect([response.status, await code(response)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
  it('takes a password of up to 1,024 bytes (UTF-8) and refuses 1,025 with BAD_REQUEST', async () => {
    // Random characters, so no strength rule is what decides; "é" is 2 bytes, the rest 1.
    const base = randomBytes(1024).toString('base64url');
    const exactly = `é${base.slice(0, 1022)}`;
    const over = `é${base.slice(0, 1023)}`;
    expect([Buffer.byteLength(exactly), Buffer.byteLength(over)]).toEqual([1024, 1025]);
    const refused = await failure(new ParleyApi(server.url).register({ name: 'longpass', password: over }));
    expect([refused.status, refused.code]).toEqual([400, 'BAD_REQUEST']);
    await new ParleyApi(server.url).register({ name: 'longpass', password: exactly });
    expect((await new ParleyApi(server.url).login({ name: 'longpass', password: exactly })).user.name).toBe('longpass');
    expect((await failure(new ParleyApi(server.url).login({ name: 'longpass', password: over }))).code).toBe('BAD_REQUEST');
  });

  it('sets a session cookie for 30 days (Max-Age=2592000), Secure only over TLS or behind a TLS proxy, and clears it on logout', async () => {
    const sessionCookie = (response: Response) => response.headers.getSetCookie().find((cookie) => cookie.startsWith('parley_session='))!;
    const register = (url: string, name: string) =>
      fetch(`${url}/api/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: PASSWORD }) });
    const plain = sessionCookie(await register(server.url, 'plain'));
    expect(plain).toMatch(/^parley_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=2592000$/);
    const proxied = await startTestServer({ flags: ['--behind-tls-proxy', '--public-url', 'https://chat.example.org'] });
    try {
      const response = await register(proxied.url, 'proxied');
      expect(sessionCookie(response)).toMatch(/^parley_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=2592000; Secure$/);
      const { token } = (await response.json()) as { token: string };
      const logout = await fetch(`${proxied.url}/api/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(sessionCookie(logout)).toBe('parley_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure');
    } finally {
      await proxied.close();
    }
  });
});
