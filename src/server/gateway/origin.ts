import type { IncomingMessage } from 'node:http';

/**
 * A browser always sends Origin on a WebSocket handshake; a page on another site must not be
 * able to open a session with the user's cookie. Allowed: no Origin (not a browser: it must
 * bring a bearer token), an Origin whose host is this server's own Host, or one on the list.
 */
export function originAllowed(request: IncomingMessage, allowList: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowList.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
