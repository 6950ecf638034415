import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Device tokens (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): after a
 * successful login the browser gets a long-lived token saying "account N logged in here". It
 * grants no access; it only lets its holder's logins past the throttle that strangers trip. The
 * token is `<userId>.<nonce>.<HMAC>`, signed with a key kept in the data folder, so the server
 * stores nothing per device.
 */
export class DeviceTokens {
  constructor(private readonly key: Buffer) {}

  issue(userId: number): string {
    const body = `${userId}.${randomBytes(16).toString('base64url')}`;
    return `${body}.${this.sign(body)}`;
  }

  /** Whether the token was issued here for this user. */
  belongsTo(token: string, userId: number): boolean {
    const dot = token.lastIndexOf('.');
    if (dot < 0) return false;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.sign(body));
    return given.length === expected.length && timingSafeEqual(given, expected) && body.split('.')[0] === String(userId);
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/** The signing key's file in a single node's data folder. */
export const DEVICE_KEY_FILE = 'device-token.key';
/** The signing key's name among the secrets a cluster's nodes share in PostgreSQL. */
export const DEVICE_KEY_SECRET = 'device-token-key';

/** A fresh signing key: 256 random bits. */
export const freshDeviceKey = (): Buffer => randomBytes(32);

/** The signing key of a single node: made once in the data folder, readable by the owner only. */
export async function loadDeviceKey(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, DEVICE_KEY_FILE);
  if (!existsSync(file)) await writeFile(file, freshDeviceKey(), { mode: 0o600, flag: 'wx' }).catch(() => {});
  const key = await readFile(file);
  if (key.length < 32) throw new Error(`${file} is damaged (shorter than 32 bytes); delete it to make a new one.`);
  return key;
}
