import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { PROTOCOL_VERSION } from '../src/protocol/index.ts';
import { codeOf, PASSWORD, rawSocket, registerUser } from './support/clients.ts';
import { rawRequest } from './support/http.ts';
import { ManualClock } from './support/manual-clock.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');
let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

describe('passwords', () => {
  it('refuses the most common passwords and the name itself, ignoring case, with PASSWORD_TOO_COMMON', async () => {
    const register = (name: string, password: string) => codeOf(new ParleyApi(server.url).register({ name, password }));
    for (const password of ['password', '12345678', 'qwertyuiop', 'iloveyou', 'PASSWORD', 'Password1', 'trustno1']) {
      expect([password, await register('alice', password)]).toEqual([password, 'PASSWORD_TOO_COMMON']);
    }
    expect(await register('Margarethe', 'margarethe')).toBe('PASSWORD_TOO_COMMON');
    expect(await register('Margarethe', 'MARGARETHE')).toBe('PASSWORD_TOO_COMMON');
    // Anything else long enough, in any script, without composition rules.
    for (const [name, password] of [['alice', 'correct horse battery'], ['bob', 'k7#pQ2!z'], ['小明', '我的密码很长很长'], ['carol', '        ']]) {
      expect([name, await register(name!, password!)]).toEqual([name, 'OK']);
    }
  });
});

describe('registrations', () => {
  it('are limited to 50 accounts per address per hour (not from the machine itself), and the hour runs on the server clock', async () => {
    await server.close();
    const clock = new ManualClock();
    server = await startTestServer({ flags: ['--trust-proxy', '127.0.0.1'], clock });
    const register = (name: string, address?: string) =>
      rawRequest(server.url, {
        method: 'POST',
        path: '/api/register',
        body: JSON.stringify({ name, password: PASSWORD }),
        headers: { 'content-type': 'application/json', ...(address ? { 'x-forwarded-for': address } : {}) },
      });
    for (let i = 0; i < 50; i++) expect((await register(`pupil${i}`, '203.0.113.5')).status).toBe(201);
    const refused = await register('pupil50', '203.0.113.5');
    expect([refused.status, refused.code, refused.headers['retry-after']]).toEqual([429, 'RATE_LIMITED', '3600']);
    expect((await register('pupil50', '203.0.113.6')).status).toBe(201);
    expect((await register('local-script')).status).toBe(201);
    await clock.advance(3_600_000);
    expect((await register('pupil51', '203.0.113.5')).status).toBe(201);
  });
});

describe('logging out everywhere', () => {
  it('is `parley logout --everywhere` on the command line', async () => {
    const home = await mkdtemp(join(tmpdir(), 'parley-cli-everywhere-'));
    try {
      const elsewhere = await registerUser(server.url, 'ines');
      const env = { ...process.env, XDG_CONFIG_HOME: home, PARLEY_SERVER: server.url, PARLEY_PASSWORD: PASSWORD };
      const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'logout', '--user', 'ines', '--everywhere'], { env });
      expect(stdout).toBe(`Logged out ines everywhere on ${server.url}.\n`);
      expect(await codeOf(elsewhere.api.me())).toBe('UNAUTHENTICATED');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('ends every session of the user and closes all their sockets with 4001, and no one else’s', async () => {
    const first = await registerUser(server.url, 'alice');
    const second = await new ParleyApi(server.url).login({ name: 'alice', password: PASSWORD });
    const bob = await registerUser(server.url, 'bob');
    const sockets = await Promise.all([first.token, second.token, bob.token].map((token) => rawSocket(server.url, token)));
    await new ParleyApi(server.url, { token: second.token }).logoutEverywhere();
    expect((await sockets[0]!.closed).code).toBe(4001);
    expect((await sockets[1]!.closed).code).toBe(4001);
    for (const token of [first.token, second.token]) expect(await codeOf(new ParleyApi(server.url, { token }).me())).toBe('UNAUTHENTICATED');
    expect((await bob.api.me()).user.name).toBe('bob');
    sockets[2]!.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION }));
    await sockets[2]!.next('synced');
    sockets[2]!.send(JSON.stringify({ type: 'ping', ref: 'still' }));
    expect(await sockets[2]!.next('pong')).toEqual({ type: 'pong', ref: 'still' });
    sockets[2]!.ws.close();
  });
});
