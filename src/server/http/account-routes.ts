import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CLOSE_CODES, credentialsBody, type MeReply, type SessionReply } from '../../protocol/index.ts';
import type { Accounts } from '../accounts/accounts.ts';
import type { Hub } from '../gateway/hub.ts';
import { requireUser } from './authenticate.ts';
import { clearedSessionCookie, sessionCookie } from './credentials.ts';
import { parseBody } from './parse-body.ts';

export function accountRoutes(app: FastifyInstance, deps: { accounts: Accounts; hub: Hub; secureCookies: boolean; sessionTtlMs: number }): void {
  const { accounts, hub, secureCookies } = deps;
  const cookie = (token: string) => sessionCookie(token, { secure: secureCookies, maxAgeSeconds: Math.floor(deps.sessionTtlMs / 1000) });

  app.post('/api/register', async (request, reply) => {
    const session = await accounts.register(parseBody(credentialsBody, request.body));
    reply.header('Set-Cookie', cookie(session.token)).status(201);
    return session satisfies SessionReply;
  });

  app.post('/api/login', async (request, reply) => {
    const session = await accounts.login(parseBody(credentialsBody, request.body), request.ip);
    reply.header('Set-Cookie', cookie(session.token));
    return session satisfies SessionReply;
  });

  app.post('/api/logout', async (request, reply) => {
    const { token } = await requireUser(accounts, request);
    await accounts.logout(token);
    hub.closeSession(createHash('sha256').update(token).digest('hex'), CLOSE_CODES.SESSION_ENDED, 'logged out');
    reply.header('Set-Cookie', clearedSessionCookie(secureCookies)).status(204);
  });

  app.get('/api/me', async (request) => {
    const { user } = await requireUser(accounts, request);
    return { user } satisfies MeReply;
  });
}
