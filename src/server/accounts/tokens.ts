import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits: the token is the only secret a session has, so it is never stored as is. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Sessions are looked up by SHA-256 of the token. A fast hash is right here (unlike for
 * passwords): the token has 256 bits of entropy, so there is nothing to brute-force.
 */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
