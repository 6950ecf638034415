import { isIPv4, isIPv6 } from 'node:net';

/**
 * What the per-address limits (failed logins, sign-ups) count as one address: an IPv4 address as
 * it is, an IPv6 address by its /64. Every IPv6 subscriber holds at least a /64 (RFC 6177) and may
 * take any address in it, so counting IPv6 addresses one by one would let anyone step past every
 * per-address limit. Also one key for the forms a proxy may write the same client in: with a port
 * (`198.51.100.7:1234`, `[2001:db8::1]:443`), with a zone, or IPv4-mapped (`::ffff:198.51.100.7`).
 * Anything that is not an IP address is counted as given.
 */
export function addressKey(address: string): string {
  let text = address.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (isIPv4(text)) return text;
  if (!isIPv6(text)) return address;
  const groups = ipv6Groups(text);
  // IPv4-mapped (::ffff:a.b.c.d): the IPv4 client it is.
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 part as two groups). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const before = head === '' ? [] : head.split(':');
  const after = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - before.length - after.length).fill('0');
  return [...before, ...zeros, ...after].map((group) => parseInt(group, 16));
}
