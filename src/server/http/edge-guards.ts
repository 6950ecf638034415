import type { FastifyInstance } from 'fastify';
import type { EdgePolicy } from '../edge/edge-policy.ts';
import { guardRequest } from '../edge/request-guard.ts';
import { ParleyError } from '../errors.ts';
import { findTextProblem } from '../../protocol/index.ts';

/**
 * What every HTTP request goes through, whatever its route (404s included), in one place:
 * the host and origin checks, the security headers, and JSON as the only body type parsed
 * (a route that streams another type, like uploads, registers its own parser).
 */
export function installEdgeGuards(app: FastifyInstance, policy: EdgePolicy): void {
  app.addHook('onRequest', async (request) => {
    const refused = guardRequest(request.raw, policy);
    if (refused) throw new ParleyError(refused);
    // The query string's parser leaves a bad escape as it is (`?q=%ED%A0%80` would be searched for
    // literally); the path's answers 400 (frameworkErrors). Both parts of an address answer alike.
    const query = request.url.indexOf('?');
    if (query >= 0 && !wellEncoded(request.url.slice(query + 1))) throw new ParleyError('BAD_REQUEST', 'The address is not valid percent-encoded UTF-8.');
  });
  // Bodies and queries are checked by their schemas (protocol/validate.ts); an address's own
  // parts are text too. A percent-encoded lone surrogate is already refused as bad UTF-8, but
  // `%00` decodes to a NUL, which PostgreSQL cannot hold (a 500 instead of an answer). No stored
  // name or id holds one, so such an address names nothing: 404, as a malformed id always was.
  app.addHook('preValidation', async (request) => {
    if (findTextProblem(request.params)) throw new ParleyError('NOT_FOUND', 'Nothing has that address.');
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(policy.responseHeaders);
  });
  // fastify parses text/plain by default. A browser sends text/plain across origins without a
  // preflight, so JSON sent as text must never be taken for JSON: 415, like any other type.
  app.removeContentTypeParser('text/plain');
}

/** Every `%` escape well formed and together valid UTF-8 (no lone surrogates). */
function wellEncoded(query: string): boolean {
  if (!query.includes('%')) return true;
  try {
    decodeURIComponent(query);
    return true;
  } catch {
    return false;
  }
}
