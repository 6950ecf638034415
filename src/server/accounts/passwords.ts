import argon2 from 'argon2';
import { availableParallelism } from 'node:os';

/**
 * argon2id with OWASP's minimum parameters (m=19 MiB, t=2, p=1) and a fresh 16-byte salt per
 * hash, embedded in the PHC string. argon2 hashes on libuv's thread pool, so a storm of logins
 * does not stall the event loop that carries chat traffic.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

/**
 * Off the event loop is not enough: with the thread pool's 4 threads all hashing, a login storm
 * on a machine with 1 or 2 cores takes the CPU away from the event loop, and every chat message
 * waits behind it (bench: login, docs/PERFORMANCE.md). So at most (cores - 1) hashes run at
 * once (at least 1; cores as this process may use them, e.g. under taskset) and the rest queue:
 * a storm makes logins slower, not chat.
 */
const MAX_CONCURRENT_HASHES = Math.max(1, availableParallelism() - 1);
let hashing = 0;
const waiting: (() => void)[] = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (hashing >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  else hashing++;
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next in line, or free it.
    const next = waiting.shift();
    if (next) next();
    else hashing--;
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => argon2.hash(password, OPTIONS));
}

export function verifyPassword(hash: string, password: string): Promise<boolean> {
  return limited(() => argon2.verify(hash, password));
}

/** Verified against when the name is unknown, so that a miss costs as long as a wrong password. */
let decoy: Promise<string> | undefined;
export async function burnDecoyVerification(password: string): Promise<void> {
  decoy ??= hashPassword('parley-decoy-password');
  const hash = await decoy;
  await limited(() => argon2.verify(hash, password));
}
