import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { ParleyClientError } from '../src/client/errors.ts';
import { DEFAULT_ACCOUNT_LIMITS } from '../src/server/accounts/accounts.ts';
import { PASSWORD, registerUser } from './support/clients.ts';
import { rawRequest, type RawReply } from './support/http.ts';
import { ManualClock } from './support/manual-clock.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The real server whose clock the test moves; requests come through a "proxy" on loopback. */
async function start(flags: string[] = ['--trust-proxy', '127.0.0.1']) {
  const clock = new ManualClock(Date.parse('2026-12-01T09:00:00Z'));
  server = await startTestServer({ flags, clock });
  return { server, clock };
}

/** A login from `address` (the client as the trusted proxy reports it), with the cookies it holds. */
function login(name: string, password: string, options: { address?: string; cookies?: string[]; forwardedFor?: string } = {}): Promise<RawReply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.forwardedFor ?? options.address) headers['x-forwarded-for'] = options.forwardedFor ?? options.address!;
  if (options.cookies?.length) headers.cookie = options.cookies.join('; ');
  return rawRequest(server!.url, { method: 'POST', path: '/api/login', body: JSON.stringify({ name, password }), headers });
}

function cookiesOf(reply: RawReply): Record<string, string> {
  const set = (reply.headers['set-cookie'] as string[] | undefined) ?? [];
  return Object.fromEntries(set.map((cookie) => cookie.split(';')[0]!.split('=') as [string, string]));
}

describe('failed logins', () => {
  it('hold an unknown device after 5 failures from one address, and a known device of the owner never', async () => {
    await start();
    await registerUser(server!.url, 'teacher');
    const ownerLogin = await login('teacher', PASSWORD, { address: '198.51.100.7' });
    expect(ownerLogin.status).toBe(200);
    const device = `parley_device=${cookiesOf(ownerLogin).parley_device}`;
    expect(ownerLogin.headers['set-cookie']).toEqual(
      expect.arrayContaining([expect.stringMatching(/^parley_device=[\w.-]+; Path=\/api\/login; HttpOnly; SameSite=Strict; Max-Age=31536000$/)]),
    );

    for (let i = 0; i < 5; i++) expect((await login('teacher', `guess-${i}-guess`, { address: '203.0.113.9' })).code).toBe('WRONG_CREDENTIALS');
    const held = await login('teacher', PASSWORD, { address: '203.0.113.9' });
    expect([held.status, held.code]).toEqual([429, 'LOGIN_RATE_LIMITED']);
    expect(held.headers['retry-after']).toBe(String(15 * 60));

    // The owner: from their known device (even on the stranger's address, a shared classroom NAT), and from elsewhere.
    expect((await login('teacher', PASSWORD, { address: '203.0.113.9', cookies: [device] })).status).toBe(200);
    expect((await login('teacher', PASSWORD, { address: '198.51.100.99' })).status).toBe(200);
  });

  it('hold after 5 failures even when 30 guesses arrive at once: each is counted before its password is checked', async () => {
    await start();
    await registerUser(server!.url, 'teacher');
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => login('teacher', `guess-${i}-guess`, { address: '203.0.113.9' })));
    const codes = replies.map((reply) => reply.code);
    expect(codes.filter((code) => code === 'WRONG_CREDENTIALS')).toHaveLength(5);
    expect(codes.filter((code) => code === 'LOGIN_RATE_LIMITED')).toHaveLength(25);
    expect((await login('teacher', PASSWORD, { address: '203.0.113.9' })).code).toBe('LOGIN_RATE_LIMITED');
    // A success gives its count back: 4 failures and the owner's login from another address leave that address 1 more try.
    for (let i = 0; i < 4; i++) expect((await login('teacher', `other-${i}-guess`, { address: '198.51.100.50' })).code).toBe('WRONG_CREDENTIALS');
    expect((await login('teacher', PASSWORD, { address: '198.51.100.50' })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await login('teacher', `again-${i}-guess`, { address: '198.51.100.50' })).code).toBe('WRONG_CREDENTIALS');
    expect((await login('teacher', PASSWORD, { address: '198.51.100.50' })).code).toBe('LOGIN_RATE_LIMITED');
  });

  it('count an IPv6 client by its /64: five failures from five of its addresses hold a sixth, and its sign-ups share one allowance', async () => {
    server = await startTestServer({
      flags: ['--trust-proxy', '127.0.0.1'],
      accountLimits: { ...DEFAULT_ACCOUNT_LIMITS, registrationsPerAddress: { count: 2, windowMs: 3_600_000 } },
    });
    await registerUser(server.url, 'teacher');
    for (let i = 1; i <= 5; i++) expect((await login('teacher', `guess-${i}-guess`, { address: `2001:db8:5:6::${i}` })).code).toBe('WRONG_CREDENTIALS');
    expect((await login('teacher', PASSWORD, { address: '2001:db8:5:6:abcd::77' })).code).toBe('LOGIN_RATE_LIMITED');
    // The next /64 is another subscriber.
    expect((await login('teacher', PASSWORD, { address: '2001:db8:5:7::1' })).status).toBe(200);
    const signUp = (name: string, address: string) =>
      rawRequest(server!.url, {
        method: 'POST',
        path: '/api/register',
        body: JSON.stringify({ name, password: PASSWORD }),
        headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
      });
    expect((await signUp('pupil1', '2001:db8:9:9::1')).status).toBe(201);
    expect((await signUp('pupil2', '2001:db8:9:9::2')).status).toBe(201);
    expect((await signUp('pupil3', '2001:db8:9:9:ffff::3')).code).toBe('RATE_LIMITED');
  });

  it('let no more accounts be made from one address than its allowance when the sign-ups arrive at once, and a refused one costs nothing', async () => {
    server = await startTestServer({
      flags: ['--trust-proxy', '127.0.0.1'],
      accountLimits: { ...DEFAULT_ACCOUNT_LIMITS, registrationsPerAddress: { count: 3, windowMs: 3_600_000 } },
    });
    const signUp = (name: string) =>
      rawRequest(server!.url, {
        method: 'POST',
        path: '/api/register',
        body: JSON.stringify({ name, password: PASSWORD }),
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.20' },
      });
    // A name already taken is refused before it is counted, and so is not one of the three.
    await registerUser(server.url, 'taken');
    expect((await signUp('taken')).code).toBe('NAME_TAKEN');
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => signUp(`pupil${i}`)));
    expect(replies.filter((reply) => reply.status === 201)).toHaveLength(3);
    expect(replies.filter((reply) => reply.code === 'RATE_LIMITED')).toHaveLength(9);
  });

  it('hold every unknown device once an account has 50 failures from any addresses, but not a known device', async () => {
    await start();
    await registerUser(server!.url, 'teacher');
    const device = `parley_device=${cookiesOf(await login('teacher', PASSWORD)).parley_device}`;
    // A botnet: 50 addresses, one guess each, so no (account, address) pair reaches its limit.
    for (let i = 0; i < 50; i++) expect((await login('teacher', `guess-${i}-guess`, { address: `10.0.${i}.1` })).code).toBe('WRONG_CREDENTIALS');
    const stranger = await login('teacher', PASSWORD, { address: '10.9.9.9' });
    expect([stranger.status, stranger.code]).toEqual([429, 'LOGIN_RATE_LIMITED']);
    expect((await login('teacher', PASSWORD, { address: '10.9.9.9', cookies: [device] })).status).toBe(200);
  });

  it('let the window run out by the clock, without waiting for it', async () => {
    const { clock } = await start();
    await registerUser(server!.url, 'erin');
    for (let i = 0; i < 5; i++) await login('erin', `guess-${i}-guess`, { address: '203.0.113.9' });
    expect((await login('erin', PASSWORD, { address: '203.0.113.9' })).status).toBe(429);
    await clock.advance(15 * 60_000 - 1000);
    const later = await login('erin', PASSWORD, { address: '203.0.113.9' });
    expect([later.status, JSON.parse(later.body).error.retryAfterMs]).toEqual([429, 1000]);
    await clock.advance(1000);
    expect((await login('erin', PASSWORD, { address: '203.0.113.9' })).status).toBe(200);
  });

  it('count a device token only for the account it was issued to, and never a forged one', async () => {
    await start();
    await registerUser(server!.url, 'alice');
    await registerUser(server!.url, 'bob');
    const aliceDevice = cookiesOf(await login('alice', PASSWORD)).parley_device!;
    const [userId, nonce, signature] = aliceDevice.split('.');
    const forged = [`${userId}.${nonce}.${signature!.slice(0, -2)}AA`, `2.${nonce}.${signature}`, 'garbage'];
    for (let i = 0; i < 5; i++) await login('bob', `guess-${i}-guess`, { address: '203.0.113.9' });
    for (const token of [aliceDevice, ...forged]) {
      const reply = await login('bob', PASSWORD, { address: '203.0.113.9', cookies: [`parley_device=${token}`] });
      expect([token, reply.status]).toEqual([token, 429]);
    }
  });

  it('treat a known device that failed 10 times itself as unknown', async () => {
    await start();
    await registerUser(server!.url, 'carol');
    const device = `parley_device=${cookiesOf(await login('carol', PASSWORD)).parley_device}`;
    for (let i = 0; i < 10; i++) expect((await login('carol', `typo-${i}-typo`, { cookies: [device] })).code).toBe('WRONG_CREDENTIALS');
    // Its 10 failures counted for itself only, so as an unknown device it still has its pair's 5.
    for (let i = 0; i < 5; i++) expect((await login('carol', `typo-${i}-again`, { cookies: [device] })).code).toBe('WRONG_CREDENTIALS');
    expect((await login('carol', PASSWORD, { cookies: [device] })).status).toBe(429);
  });

  it('hold an address after 50 failures across accounts (password spraying)', async () => {
    await start();
    for (let i = 0; i < 50; i++) expect((await login(`user${i}`, PASSWORD, { address: '203.0.113.50' })).code).toBe('WRONG_CREDENTIALS');
    expect((await login('user-next', PASSWORD, { address: '203.0.113.50' })).code).toBe('LOGIN_RATE_LIMITED');
    expect((await login('user-next', PASSWORD, { address: '203.0.113.51' })).code).toBe('WRONG_CREDENTIALS');
  });

  it('are the documented defaults', () => {
    expect(DEFAULT_ACCOUNT_LIMITS.throttle).toEqual({
      perAccountAndAddress: { failures: 5, windowMs: 900_000 },
      perAccount: { failures: 50, windowMs: 3_600_000 },
      perAddress: { failures: 50, windowMs: 900_000 },
      perDevice: { failures: 10, windowMs: 900_000 },
    });
  });
});

describe('the client library and the CLI', () => {
  it('keep the device token of a login and send it with the next, so a held address does not hold them', async () => {
    await start();
    await registerUser(server!.url, 'gus');
    const known = new ParleyApi(server!.url);
    await known.login({ name: 'gus', password: PASSWORD });
    expect(known.deviceToken).toMatch(/^\d+\.[\w-]+\.[\w-]+$/);
    for (let i = 0; i < 5; i++) await login('gus', `guess-${i}-guess`);
    expect(await new ParleyApi(server!.url).login({ name: 'gus', password: PASSWORD }).catch((error: ParleyClientError) => error.code)).toBe('LOGIN_RATE_LIMITED');
    expect((await known.login({ name: 'gus', password: PASSWORD })).user.name).toBe('gus');
  });

  it('the CLI saves the device token with the session and logs in with it when the session has ended', async () => {
    await start();
    const home = await mkdtemp(join(tmpdir(), 'parley-cli-device-'));
    try {
      const env = { ...process.env, XDG_CONFIG_HOME: home, PARLEY_SERVER: server!.url, PARLEY_PASSWORD: PASSWORD };
      const run = (args: string[]) =>
        new Promise<{ code: number; stderr: string }>((resolve) =>
          execFile(process.execPath, [BIN, ...args], { env }, (error, _stdout, stderr) => resolve({ code: error ? 1 : 0, stderr })),
        );
      expect(await run(['register', '--user', 'hana'])).toEqual({ code: 0, stderr: '' });
      const file = join(home, 'parley', 'sessions.json');
      const text = await readFile(file, 'utf8');
      const saved = Object.values((JSON.parse(text) as { sessions: Record<string, { token: string; deviceToken?: string }> }).sessions)[0]!;
      expect(saved.deviceToken).toMatch(/^\d+\.[\w-]+\.[\w-]+$/);
      // The session ends elsewhere, and a stranger holds the account from this very address.
      await new ParleyApi(server!.url, { token: saved.token }).logout();
      for (let i = 0; i < 5; i++) await login('hana', `guess-${i}-guess`);
      // Without the device token the CLI is held like the stranger; with it, it logs in.
      const forgetful = JSON.parse(text) as { sessions: Record<string, { deviceToken?: string }> };
      for (const entry of Object.values(forgetful.sessions)) delete entry.deviceToken;
      await writeFile(file, JSON.stringify(forgetful));
      const held = await run(['who', '--user', 'hana']);
      expect([held.code, held.stderr]).toEqual([1, expect.stringContaining('LOGIN_RATE_LIMITED')]);
      await writeFile(file, text);
      // Logged in without a word (who's own note aside, when nobody is online).
      const signedIn = await run(['who', '--user', 'hana']);
      expect({ ...signedIn, stderr: signedIn.stderr.replace(/^Nobody (else )?is online now\.\n$/, '') }).toEqual({ code: 0, stderr: '' });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('the client address behind proxies', () => {
  it('is read from the right of X-Forwarded-For, so rotating the left-most entry defeats no limit', async () => {
    await start(['--behind-tls-proxy', '--public-url', 'https://chat.example.org']);
    await registerUser(server!.url, 'dana');
    for (let i = 0; i < 5; i++) {
      const reply = await login('dana', `guess-${i}-guess`, { forwardedFor: `192.0.2.${i}, 203.0.113.9` });
      expect(reply.code).toBe('WRONG_CREDENTIALS');
    }
    const rotated = await login('dana', PASSWORD, { forwardedFor: '192.0.2.200, 203.0.113.9' });
    expect(rotated.code).toBe('LOGIN_RATE_LIMITED');
    // The address the proxy saw differs: another client, not held.
    expect((await login('dana', PASSWORD, { forwardedFor: '192.0.2.0, 203.0.113.10' })).status).toBe(200);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    await start(['--trust-proxy', '10.1.2.3']);
    await registerUser(server!.url, 'eve');
    for (let i = 0; i < 5; i++) await login('eve', `guess-${i}-guess`, { forwardedFor: `203.0.113.${i}` });
    expect((await login('eve', PASSWORD, { forwardedFor: '203.0.113.77' })).code).toBe('LOGIN_RATE_LIMITED');
  });
});

describe('sessions', () => {
  it('a login replaces the session cookie the browser held: the old session ends', async () => {
    await start();
    const { token: old } = await registerUser(server!.url, 'frank');
    const reply = await login('frank', PASSWORD, { cookies: [`parley_session=${old}`] });
    expect(reply.status).toBe(200);
    expect(cookiesOf(reply).parley_session).not.toBe(old);
    expect((await rawRequest(server!.url, { path: '/api/me', headers: { authorization: `Bearer ${old}` } })).status).toBe(401);
  });
});
