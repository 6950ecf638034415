import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { PROTOCOL_VERSION } from '../src/protocol/index.ts';
import { DEFAULT_ACCOUNT_LIMITS } from '../src/server/accounts/accounts.ts';
import { codeOf, PASSWORD, rawSocket, registerUser } from './support/clients.ts';
import { rawRequest } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const NEW_PASSWORD = 'a brand new passphrase';
let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await server.close();
});

const login = (password: string, name = 'alice') => codeOf(new ParleyApi(server.url).login({ name, password }));

describe('changing a password (POST /api/password)', () => {
  it('needs the current password, then the new one logs in and the old one does not', async () => {
    const alice = await registerUser(server.url, 'alice');
    await alice.api.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(await login(PASSWORD)).toBe('WRONG_CREDENTIALS');
    expect(await login(NEW_PASSWORD)).toBe('OK');
  });

  it('ends every other session of the user (sockets closed with 4001, tokens refused) while this one and other users go on', async () => {
    const here = await registerUser(server.url, 'alice');
    const elsewhere = await new ParleyApi(server.url).login({ name: 'alice', password: PASSWORD });
    const bob = await registerUser(server.url, 'bob');
    const [hereSocket, elsewhereSocket, bobSocket] = await Promise.all([here.token, elsewhere.token, bob.token].map((token) => rawSocket(server.url, token)));
    await here.api.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(await elsewhereSocket!.closed).toEqual({ code: 4001, reason: 'password changed' });
    expect(await codeOf(new ParleyApi(server.url, { token: elsewhere.token }).me())).toBe('UNAUTHENTICATED');
    expect((await here.api.me()).user.name).toBe('alice');
    for (const socket of [hereSocket!, bobSocket!]) {
      socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION }));
      await socket.next('synced');
      socket.send(JSON.stringify({ type: 'ping', ref: 'still' }));
      expect(await socket.next('pong')).toEqual({ type: 'pong', ref: 'still' });
      socket.ws.close();
    }
  });

  it('answers a wrong current password with WRONG_CURRENT_PASSWORD, changes nothing, and counts it as a failed login', async () => {
    const alice = await registerUser(server.url, 'alice');
    const change = () => codeOf(alice.api.changePassword({ currentPassword: 'not my password', newPassword: NEW_PASSWORD }));
    expect(await change()).toBe('WRONG_CURRENT_PASSWORD');
    expect(await login(NEW_PASSWORD)).toBe('WRONG_CREDENTIALS');
    // The session makes a known device: its own failures count first, then the (account, address)
    // pair's, which already holds the failed login above (a login without cookies is an unknown device).
    const { perDevice, perAccountAndAddress } = DEFAULT_ACCOUNT_LIMITS.throttle;
    for (let i = 1; i < perDevice.failures + perAccountAndAddress.failures - 1; i++) expect([i, await change()]).toEqual([i, 'WRONG_CURRENT_PASSWORD']);
    expect(await change()).toBe('LOGIN_RATE_LIMITED');
    // Held before the password is looked at: the right one is refused too, from this session...
    expect(await codeOf(alice.api.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD }))).toBe('LOGIN_RATE_LIMITED');
    // ...and so is a login of the account from this address by an unknown device: it is one throttle.
    expect(await login(PASSWORD)).toBe('LOGIN_RATE_LIMITED');
    expect((await alice.api.me()).user.name).toBe('alice');
  });

  it('refuses a weak new password with the codes registration uses, and a password over 1,024 bytes', async () => {
    const margarethe = await registerUser(server.url, 'Margarethe');
    const change = (newPassword: string) => codeOf(margarethe.api.changePassword({ currentPassword: PASSWORD, newPassword }));
    expect(await change('password')).toBe('PASSWORD_TOO_COMMON');
    expect(await change('Password1')).toBe('PASSWORD_TOO_COMMON');
    expect(await change('MARGARETHE')).toBe('PASSWORD_TOO_COMMON');
    expect(await change('seven77')).toBe('PASSWORD_INVALID');
    expect(await change('x'.repeat(1025))).toBe('BAD_REQUEST');
    // Checked before the current password: a weak new one with a wrong current one is still the weak one.
    expect(await codeOf(margarethe.api.changePassword({ currentPassword: 'wrong one', newPassword: 'password' }))).toBe('PASSWORD_TOO_COMMON');
    expect(await login(PASSWORD, 'Margarethe')).toBe('OK');
    // 1,024 bytes exactly is allowed.
    expect(await change('ü'.repeat(512))).toBe('OK');
    expect(await login('ü'.repeat(512), 'Margarethe')).toBe('OK');
  });

  it('refuses a foreign Origin, a request without a session, and a body with unknown fields', async () => {
    const alice = await registerUser(server.url, 'alice');
    const post = (headers: Record<string, string>, body: object = { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }) =>
      rawRequest(server.url, { method: 'POST', path: '/api/password', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const foreign = await post({ origin: 'http://evil.example', cookie: `parley_session=${alice.token}` });
    expect([foreign.status, foreign.code]).toEqual([403, 'FORBIDDEN_ORIGIN']);
    const sameSite = await post({ 'sec-fetch-site': 'same-site', cookie: `parley_session=${alice.token}` });
    expect([sameSite.status, sameSite.code]).toEqual([403, 'FORBIDDEN_ORIGIN']);
    const anonymous = await post({});
    expect([anonymous.status, anonymous.code]).toEqual([401, 'UNAUTHENTICATED']);
    const extra = await post({ authorization: `Bearer ${alice.token}` }, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, name: 'bob' });
    expect([extra.status, extra.code]).toEqual([400, 'BAD_REQUEST']);
    expect(await login(PASSWORD)).toBe('OK');
    const own = await post({ origin: server.url, cookie: `parley_session=${alice.token}` });
    expect(own.status).toBe(204);
    expect(await login(NEW_PASSWORD)).toBe('OK');
  });
});
