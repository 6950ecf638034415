import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { ParleyError } from '../errors.ts';
import { isLoopback } from '../config.ts';

const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/**
 * A request from this machine itself: the socket's peer is a loopback address and no proxy says
 * it forwarded it. The socket, not `request.ip`, which a trusted proxy's header sets; and a reverse
 * proxy on the same machine connects from loopback on behalf of anyone, so its headers disqualify.
 */
function fromThisMachine(request: FastifyRequest): boolean {
  const peer = (request.raw.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  return isLoopback(peer) && !PROXY_HEADERS.some((header) => header in request.headers);
}

function tokenMatches(request: FastifyRequest, token: string): boolean {
  const given = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
  if (!given) return false;
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first difference.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/**
 * `GET /metrics` in Prometheus text format: to this machine, and to anyone with
 * `Authorization: Bearer <token>` when the server runs with `--metrics-token`. Others get
 * NOT_FOUND without a token configured (the endpoint does not exist for them) and
 * UNAUTHENTICATED with one.
 */
export function metricsRoute(app: FastifyInstance, deps: { registry: Registry; token: string | null }): void {
  app.get('/metrics', async (request, reply) => {
    const allowed = (deps.token !== null && tokenMatches(request, deps.token)) || fromThisMachine(request);
    if (!allowed) {
      if (deps.token === null) throw new ParleyError('NOT_FOUND');
      reply.header('WWW-Authenticate', 'Bearer realm="parley-metrics"');
      throw new ParleyError('UNAUTHENTICATED', 'Send Authorization: Bearer <the --metrics-token>.');
    }
    return reply.header('Content-Type', deps.registry.contentType).header('Cache-Control', 'no-store').send(await deps.registry.metrics());
  });
}
