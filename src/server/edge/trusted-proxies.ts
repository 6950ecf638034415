import type { IncomingMessage } from 'node:http';
import proxyaddr from '@fastify/proxy-addr';

/** Whether the hop `address` (0 = the peer of the socket) is one of the configured proxies. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/**
 * `--trust-proxy`: addresses and CIDR ranges (and proxy-addr's `loopback`, `linklocal`,
 * `uniquelocal`) of the reverse proxies in front of Parley. The same function is given to fastify
 * (`request.ip`) and used for WebSocket handshakes, so both read X-Forwarded-* by one rule.
 */
export function proxyTrust(list: readonly string[]): ProxyTrust {
  if (list.length === 0) return () => false;
  return proxyaddr.compile([...list]);
}

/** The host the client asked for: X-Forwarded-Host when a trusted proxy sent the request, else Host. */
export function requestedHost(request: IncomingMessage, trust: ProxyTrust): string | undefined {
  const forwarded = request.headers['x-forwarded-host'];
  const peer = request.socket?.remoteAddress;
  if (typeof forwarded === 'string' && peer !== undefined && trust(peer, 0)) {
    const last = forwarded.split(',').at(-1)!.trim();
    if (last !== '') return last;
  }
  return request.headers.host;
}
