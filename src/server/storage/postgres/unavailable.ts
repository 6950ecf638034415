import { ParleyError } from '../../errors.ts';

/** How long a client is asked to wait before it retries a request the database could not take. */
const RETRY_AFTER_MS = 1_000;

/**
 * SQLSTATE classes and codes that mean "the database is not there" rather than "this request is
 * wrong": connection exceptions (08), the server shutting down or starting (57P01-57P03).
 */
const UNAVAILABLE_SQLSTATES = /^(08|57P0[123])/;
/** Socket errors of a server that is down or went away. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
/** The driver's error for a statement that outlived `query_timeout` (database.ts, QUERY_TIMEOUT_MS). */
const QUERY_TIMEOUT = 'Query read timeout';
/** The driver's own errors for a lost, never-made or silent connection carry no code, only these messages. */
const DRIVER_MESSAGES = new RegExp(
  `Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|${QUERY_TIMEOUT}`,
  'i',
);

/** A statement that got no answer within `query_timeout`: its connection may still be busy with it. */
export function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === QUERY_TIMEOUT;
}

/**
 * A request that failed because PostgreSQL could not be reached is STORE_UNAVAILABLE (503, retry
 * after a second), not INTERNAL: the client may send the same thing again with the same client id,
 * and a send whose COMMIT did reach the database before the link broke then gets its original ack.
 * Anything else is returned as it is.
 */
export function asUnavailable(error: unknown): unknown {
  if (error instanceof ParleyError) return error;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const unavailable =
    (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.test(code) || SOCKET_CODES.has(code))) ||
    (typeof message === 'string' && DRIVER_MESSAGES.test(message)) ||
    (error instanceof AggregateError && error.errors.some((inner) => asUnavailable(inner) instanceof ParleyError));
  return unavailable ? new ParleyError('STORE_UNAVAILABLE', undefined, { retryAfterMs: RETRY_AFTER_MS, cause: error }) : error;
}
