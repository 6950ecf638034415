import argon2 from 'argon2';
import { PASSWORD_MIN_CODE_POINTS } from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';

/**
 * argon2id with OWASP's minimum parameters (m=19 MiB, t=2, p=1) and a fresh 16-byte salt per
 * hash, embedded in the PHC string. argon2 hashes on libuv's thread pool, so a storm of logins
 * does not stall the event loop that carries chat traffic.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export function checkPassword(password: string): void {
  if ([...password].length < PASSWORD_MIN_CODE_POINTS) throw new ParleyError('PASSWORD_INVALID');
}

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return argon2.verify(hash, password);
}

/** Verified against when the name is unknown, so that a miss costs as long as a wrong password. */
let decoy: Promise<string> | undefined;
export async function burnDecoyVerification(password: string): Promise<void> {
  decoy ??= hashPassword('parley-decoy-password');
  await argon2.verify(await decoy, password);
}
