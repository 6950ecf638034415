import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ServerEvents } from '../metrics/server-events.ts';

/**
 * One `info` line per HTTP response (method, route, status, duration, client address), and one
 * per account event: register, login, login_failed, lockout, logout. The address comes right
 * after the event name, before anything a client chose (the name is quoted JSON), so a fail2ban
 * filter anchored on `auth login_failed ip=<HOST>` cannot be steered to another address by a
 * crafted user name (docs/DEPLOYMENT.md, "Logs"). WebSocket sessions are not HTTP responses.
 */
export function accessLog(app: FastifyInstance, log: Logger, events: ServerEvents): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '(no route)';
    const status = reply.statusCode;
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    events.httpResponse(request.method, route, status, ms / 1000);
    log.info({ method: request.method, route, status, ms, ip: request.ip }, `access ip=${request.ip} "${request.method} ${route}" ${status} ${ms} ms`);
    const auth = authEvent(request.method, route, status);
    if (!auth) return;
    if (auth === 'login_failed') events.loginFailed('wrong_credentials');
    if (auth === 'lockout') events.loginFailed('locked_out');
    const user = nameIn(request);
    log.info({ auth, ip: request.ip, ...(user === null ? {} : { user }) }, `auth ${auth} ip=${request.ip}${user === null ? '' : ` user=${JSON.stringify(user)}`}`);
  });
}

type AuthEvent = 'register' | 'login' | 'login_failed' | 'lockout' | 'logout';

function authEvent(method: string, route: string, status: number): AuthEvent | null {
  if (method !== 'POST') return null;
  if (route === '/api/register' && status === 201) return 'register';
  if (route === '/api/login') return status === 200 ? 'login' : status === 401 ? 'login_failed' : status === 429 ? 'lockout' : null;
  if (route === '/api/logout' && status === 204) return 'logout';
  return null;
}

/** The name a register or login request gave, cut short: it is the client's text, not a fact. */
function nameIn(request: FastifyRequest): string | null {
  const name = (request.body as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name.slice(0, 64) : null;
}
