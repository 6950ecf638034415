import { afterEach } from 'vitest';
import { RedisBus } from '../../src/server/events/redis-bus.ts';
import { privateRedis } from './redis.ts';

const quiet = { error: () => {}, warn: () => {}, info: () => {} };

/**
 * For use inside a `describe` block of RedisBus tests: a private Redis for the block
 * (privateRedis), and `connect()`, which puts a node's RedisBus on it; every bus a test connected
 * is closed after that test.
 */
export function redisBusNodes(): { redis: ReturnType<typeof privateRedis>; connect: () => Promise<RedisBus> } {
  const redis = privateRedis();
  const open: RedisBus[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((bus) => bus.close()));
  });
  return {
    redis,
    async connect() {
      const bus = await RedisBus.connect(redis().url, quiet);
      open.push(bus);
      return bus;
    },
  };
}

/** Polls `check` every 10 ms until it holds; fails after 10 s, naming `what`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
