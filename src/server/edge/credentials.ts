import type { IncomingHttpHeaders } from 'node:http';
import { DEVICE_COOKIE, SESSION_COOKIE } from '../../protocol/index.ts';

/**
 * The session token of a request: `Authorization: Bearer <token>` (CLI, tests, bots) or the
 * HttpOnly cookie (browsers). Nothing else — never a query string, which ends up in logs.
 */
export function sessionTokenOf(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice(7).trim() || null;
  return cookieValue(headers.cookie, SESSION_COOKIE);
}

/** The session token of the cookie alone (a browser's), not of an Authorization header. */
export function sessionCookieOf(headers: IncomingHttpHeaders): string | null {
  return cookieValue(headers.cookie, SESSION_COOKIE);
}

/** The device token a browser keeps for its logins (accounts/device-tokens.ts). */
export function deviceTokenOf(headers: IncomingHttpHeaders): string | null {
  return cookieValue(headers.cookie, DEVICE_COOKIE);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

export function sessionCookie(token: string, options: { secure: boolean; maxAgeSeconds: number }): string {
  const attributes = [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${options.maxAgeSeconds}`];
  if (options.secure) attributes.push('Secure');
  return attributes.join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeSeconds: 0 });
}

/** Sent to the login route only, for a year: it marks the browser as a known device, nothing more. */
export function deviceCookie(token: string, secure: boolean): string {
  const attributes = [`${DEVICE_COOKIE}=${token}`, 'Path=/api/login', 'HttpOnly', 'SameSite=Strict', `Max-Age=${365 * 24 * 3600}`];
  if (secure) attributes.push('Secure');
  return attributes.join('; ');
}
