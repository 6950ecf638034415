/**
 * Headers every response carries, HTTP answers and refused WebSocket handshakes alike
 * (docs/SECURITY.md). Cross-Origin-Resource-Policy keeps another site from embedding API answers
 * or file bytes (`<img>`, `<script>`) with the user's cookie; the rest forbid MIME sniffing,
 * framing and leaking addresses in Referer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * HTTP Strict Transport Security for a server whose certificate browsers trust (`--tls acme`, or
 * `--tls-cert`/`--tls-key`): once seen, the browser uses HTTPS only for a year, so a network
 * attacker cannot downgrade a later visit. Never with a self-signed certificate (a browser that
 * holds HSTS no longer lets anyone accept a certificate it does not trust, so the warning page
 * people click through would become a dead end), never on plain HTTP (browsers ignore it there),
 * and not behind a TLS proxy, which owns the public side's headers (docs/DEPLOYMENT.md). No
 * includeSubDomains: Parley does not own the domain's other hosts.
 */
export const STRICT_TRANSPORT_SECURITY = { 'Strict-Transport-Security': 'max-age=31536000' } as const;

/** The headers every HTTP answer of this server carries, given how it serves TLS. */
export function responseHeaders(tls: { kind: string }): Readonly<Record<string, string>> {
  const trusted = tls.kind === 'files' || tls.kind === 'acme';
  return trusted ? { ...SECURITY_HEADERS, ...STRICT_TRANSPORT_SECURITY } : SECURITY_HEADERS;
}
