import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../../protocol/index.ts';
import { originAllowed } from './origin.ts';
import type { EdgePolicy } from './edge-policy.ts';
import { requestedHost } from './trusted-proxies.ts';

/**
 * The checks every request passes before any route or handshake sees it, HTTP and WebSocket
 * alike (docs/SECURITY.md): the host must be one this server answers to (DNS rebinding), and a
 * browser's request must come from an allowed origin (cross-origin state changes).
 */
export function guardRequest(request: IncomingMessage, policy: EdgePolicy): ErrorCode | null {
  const host = requestedHost(request, policy.trust);
  // A browser always sends Host; a request without one (HTTP/1.0) is not a rebinding page.
  if (host !== undefined && !policy.hosts.allows(host)) return 'HOST_NOT_ALLOWED';
  if (!originAllowed(request.headers, request.method ?? 'GET', host, policy.allowedOrigins)) return 'FORBIDDEN_ORIGIN';
  return null;
}
