import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config } from '../config.ts';
import { responseHeaders } from './security-headers.ts';
import { ServedHosts } from './served-hosts.ts';
import { proxyTrust, type ProxyTrust } from './trusted-proxies.ts';

export interface EdgePolicy {
  hosts: ServedHosts;
  /** Web origins other than the server's own that may use it (`--allow-origin`, `--public-url`). */
  allowedOrigins: readonly string[];
  trust: ProxyTrust;
  /** The security headers of every HTTP answer (with HSTS when the certificate is one browsers trust). */
  responseHeaders: Readonly<Record<string, string>>;
}

/** The names and origins this server answers to, from its configuration and its certificate. */
export function edgePolicy(config: Config, tls: { cert: string } | null): EdgePolicy {
  return {
    hosts: new ServedHosts(servedNames(config, tls?.cert ?? null)),
    allowedOrigins: [...new Set([...config.allowedOrigins, ...config.publicUrls])],
    trust: proxyTrust(config.trustProxy),
    responseHeaders: responseHeaders(config.tls),
  };
}

/** Called again when the self-signed certificate is re-made for new names. */
export function servedNames(config: Config, cert: string | null): string[] {
  const names = config.publicUrls.map((url) => new URL(url).hostname);
  if (isIP(config.host) === 0) names.push(config.host);
  if (cert) names.push(...certificateNames(cert));
  return names;
}

/** The DNS names of a certificate's subjectAltName (its IP addresses are served anyway). */
export function certificateNames(cert: string): string[] {
  const san = new X509Certificate(cert).subjectAltName ?? '';
  return san
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
}
