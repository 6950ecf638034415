import { isIP } from 'node:net';

/**
 * The host names this server answers to. A page on `evil.example` whose DNS name is re-bound to
 * 127.0.0.1 reaches a Parley on the user's laptop with `Host: evil.example`: refusing every name
 * the server was not told about is what stops such a page from talking to it as a same-origin
 * client (DNS rebinding).
 *
 * Always allowed: an IP address literal (a rebinding attack needs a name the attacker controls;
 * a literal address was typed by someone who meant this machine), `localhost` and names under
 * `.localhost` (the browser itself resolves them to loopback, RFC 6761). Otherwise the name must
 * be on the list: the names of the TLS certificate, of `--public-url`, and of `--host`.
 */
export class ServedHosts {
  private names = new Set<string>();

  constructor(names: Iterable<string> = []) {
    this.replace(names);
  }

  /** The list changes when a self-signed certificate is re-made for new addresses. */
  replace(names: Iterable<string>): void {
    this.names = new Set([...names].map(canonicalName).filter((name): name is string => name !== null));
  }

  /** Whether a `Host` header value (name or address, with or without a port) is served here. */
  allows(hostHeader: string): boolean {
    const name = hostnameOf(hostHeader);
    if (name === null) return false;
    if (isIP(name) !== 0) return true;
    if (name === 'localhost' || name.endsWith('.localhost')) return true;
    if (this.names.has(name)) return true;
    // A certificate's wildcard covers exactly one label: *.example.org has a.example.org, not a.b.example.org.
    const dot = name.indexOf('.');
    return dot > 0 && this.names.has(`*${name.slice(dot)}`);
  }
}

/** `Example.ORG.:8443` → `example.org`; `[::1]:8080` → `::1`; null when it is not a host at all. */
export function hostnameOf(hostHeader: string): string | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:/?#@[\]]+))(?::\d{1,5})?$/.exec(hostHeader.trim());
  if (!match) return null;
  if (match[1] !== undefined) return isIP(match[1]) === 6 ? match[1].toLowerCase() : null;
  return canonicalName(match[2]!);
}

function canonicalName(name: string): string | null {
  const lower = name.trim().toLowerCase().replace(/\.$/, '');
  return lower === '' ? null : lower;
}
