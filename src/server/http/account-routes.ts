import type { FastifyInstance } from 'fastify';
import { credentialsBody, passwordChangeBody, type MeReply, type SessionReply, type SessionStateReply } from '../../protocol/index.ts';
import type { Accounts } from '../accounts/accounts.ts';
import { requireUser } from './authenticate.ts';
import { clearedSessionCookie, deviceCookie, deviceTokenOf, sessionCookie, sessionCookieOf, sessionTokenOf } from '../edge/credentials.ts';
import type { Session } from '../accounts/accounts.ts';
import { parseBody } from './parse-body.ts';

export function accountRoutes(app: FastifyInstance, deps: { accounts: Accounts; secureCookies: boolean; sessionTtlMs: number }): void {
  const { accounts, secureCookies } = deps;
  const cookies = (session: Session) => [
    sessionCookie(session.token, { secure: secureCookies, maxAgeSeconds: Math.floor(deps.sessionTtlMs / 1000) }),
    deviceCookie(session.deviceToken, secureCookies),
  ];
  const sessionReply = (session: Session): SessionReply => ({ user: session.user, token: session.token });

  app.post('/api/register', async (request, reply) => {
    const session = await accounts.register(parseBody(credentialsBody, request.body), request.ip);
    reply.header('Set-Cookie', cookies(session)).status(201);
    return sessionReply(session);
  });

  app.post('/api/login', async (request, reply) => {
    const held = sessionCookieOf(request.headers);
    const session = await accounts.login(parseBody(credentialsBody, request.body), {
      address: request.ip,
      deviceToken: deviceTokenOf(request.headers),
      sessionToken: held,
    });
    reply.header('Set-Cookie', cookies(session));
    return sessionReply(session);
  });

  app.post('/api/logout', async (request, reply) => {
    const { token } = await requireUser(accounts, request);
    await accounts.logout(token);
    reply.header('Set-Cookie', clearedSessionCookie(secureCookies)).status(204);
  });

  app.post('/api/logout/everywhere', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    await accounts.logoutEverywhere(user.id);
    reply.header('Set-Cookie', clearedSessionCookie(secureCookies)).status(204);
  });

  // Every other session of the user ends; this one, and its cookie, go on.
  app.post('/api/password', async (request, reply) => {
    const { user, token } = await requireUser(accounts, request);
    await accounts.changePassword(user, parseBody(passwordChangeBody, request.body), { token, address: request.ip });
    reply.status(204);
  });

  app.get('/api/me', async (request) => {
    const { user } = await requireUser(accounts, request);
    return { user } satisfies MeReply;
  });

  // The web client's question on every page load. Being signed out is an answer, not an error:
  // a 401 here would be logged in every visitor's console. It tells no more than /api/me does.
  app.get('/api/session', async (request, reply) => {
    const token = sessionTokenOf(request.headers);
    const user = token ? await accounts.authenticate(token) : null;
    reply.header('Cache-Control', 'no-store');
    return { user: user ?? null } satisfies SessionStateReply;
  });
}
