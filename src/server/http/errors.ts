import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode, type ErrorReply } from '../../protocol/index.ts';
import { refuseRaw } from '../edge/raw-refusal.ts';
import { SECURITY_HEADERS } from '../edge/security-headers.ts';
import { ParleyError } from '../errors.ts';

/** Maps every failure to `{ error: { code, message } }` with the catalogue's status. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ParleyError) {
      const body: ErrorReply = { error: { code: error.code, message: error.message } };
      if (error.retryAfterMs !== undefined) {
        body.error.retryAfterMs = error.retryAfterMs;
        reply.header('Retry-After', Math.ceil(error.retryAfterMs / 1000));
      }
      return reply.status(error.status).send(body);
    }
    const code = fastifyErrorCode(error as { statusCode?: number; code?: string });
    if (code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
    return reply.status(ERRORS[code].status).send({ error: { code, message: ERRORS[code].message } } satisfies ErrorReply);
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message } } satisfies ErrorReply),
  );
}

/**
 * Fastify's rejections before any route is found, which its error handler never sees: an address
 * that is not valid percent-encoded UTF-8 (`%ZZ`, `%ED%A0%80`) and a path segment over 100
 * characters. Passed to Fastify as `frameworkErrors`, so they too answer from the catalogue.
 */
export function frameworkErrors(error: { code?: string }, _request: FastifyRequest, reply: FastifyReply): void {
  const [code, message]: [ErrorCode, string] =
    error.code === 'FST_ERR_BAD_URL'
      ? ['BAD_REQUEST', 'The address is not valid percent-encoded UTF-8.']
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? ['NOT_FOUND', 'Nothing has a name that long.']
        : ['INTERNAL', ERRORS.INTERNAL.message];
  // No route, so none of the hooks that add these to every other answer.
  void reply.status(ERRORS[code].status).headers(SECURITY_HEADERS).send({ error: { code, message } } satisfies ErrorReply);
}

/**
 * What Node's HTTP parser could not read (a malformed request line or header, both
 * Content-Length and Transfer-Encoding, headers over 16 KiB), which no route or hook sees (a
 * request that never arrives whole is not one of these: Parley sets no request timeout, and
 * `--http-idle-timeout` closes an idle connection): answered from the catalogue with the security headers, as every other answer is
 * (fastify's own answer has its own format and none of the headers). Passed as `clientErrorHandler`.
 */
export function clientErrors(headers: Readonly<Record<string, string>>): (error: Error & { code?: string }, socket: Duplex) => void {
  return (error, socket) => {
    // A connection reset has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return void socket.destroy();
    if (error.code === 'HPE_HEADER_OVERFLOW') return refuseRaw(socket, 'HEADERS_TOO_LARGE', undefined, headers);
    refuseRaw(socket, 'BAD_REQUEST', 'The request is not valid HTTP.', headers);
  };
}

/** Fastify's own rejections (body parsing, limits) in our vocabulary. */
function fastifyErrorCode(error: { statusCode?: number; code?: string }): ErrorCode {
  switch (error.statusCode) {
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 400:
      return error.code?.startsWith('FST_ERR_CTP') ? 'BAD_JSON' : 'BAD_REQUEST';
    default:
      return 'INTERNAL';
  }
}
