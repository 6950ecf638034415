import { afterAll, beforeAll } from 'vitest';

/**
 * For use inside a `describe` block: one `start()`ed resource for the block's tests, started
 * before the first and `stop`ped after the last. It returns an accessor, not the resource, because
 * the describe body runs when tests are collected, before beforeAll has started anything: call it
 * from hooks and tests. Registered first in a block, its afterAll runs after the block's own
 * (vitest runs afterAll hooks in reverse), so what the block built on the resource is closed first.
 */
export function perSuite<T>(what: string, start: () => Promise<T>, stop: (resource: T) => Promise<void>): () => T {
  let resource: T | undefined;
  beforeAll(async () => {
    resource = await start();
  });
  afterAll(async () => {
    if (resource !== undefined) await stop(resource);
  });
  return () => {
    if (resource === undefined) throw new Error(`${what} is not running: used outside a test, or it failed to start`);
    return resource;
  };
}
