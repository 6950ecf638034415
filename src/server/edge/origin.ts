import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether a request may come from where the browser says it comes from. Browsers send `Origin`
 * on every state-changing request and every WebSocket handshake, and `Sec-Fetch-Site` on
 * everything; SameSite=Strict cookies still reach a page on another port or a sibling subdomain
 * (same site, other origin), so the cookie alone proves nothing.
 *
 * - `Origin` present: it must be this server's own (its host is the host the request was sent
 *   to) or on the allowed list (`--allow-origin`, `--public-url`). `Origin: null` never passes.
 * - no `Origin`, but `Sec-Fetch-Site: cross-site` or `same-site`: refused, except a top-level
 *   navigation by GET (a link to Parley from elsewhere still opens it).
 * - neither: not a browser (the CLI, scripts); they authenticate with a bearer token.
 */
export function originAllowed(
  headers: IncomingHttpHeaders,
  method: string,
  requestHost: string | undefined,
  allowList: readonly string[],
): boolean {
  const origin = headers.origin;
  if (origin !== undefined) {
    if (allowList.includes(origin)) return true;
    try {
      const url = new URL(origin);
      return requestHost !== undefined && url.host.toLowerCase() === requestHost.trim().toLowerCase();
    } catch {
      return false;
    }
  }
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    return (method === 'GET' || method === 'HEAD') && headers['sec-fetch-mode'] === 'navigate';
  }
  return true;
}
