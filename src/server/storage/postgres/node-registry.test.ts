import { describe, expect, it } from 'vitest';
import { within } from '../../../../test/support/clients.ts';
import { hasPostgres, privatePostgres } from '../../../../test/support/postgres.ts';
import { NodeRegistry } from './node-registry.ts';

/** The registry's own small pool (heartbeat, /healthz's probe, the goodbye) against a PostgreSQL that is paused, not stopped. */
describe.runIf(hasPostgres)('NodeRegistry on a PostgreSQL that keeps its connections but does not answer', () => {
  const postgres = privatePostgres();


  it('answers /healthz\'s probe with "down" every time, and still leaves (a clean shutdown) without waiting for the database', async () => {
    const registry = await NodeRegistry.join(await postgres().createDatabase(), true);
    expect(await registry.reachable()).toBe(true);
    postgres().signalAll('SIGSTOP');
    try {
      // More probes than the pool has connections: none may keep the next one, or the goodbye, waiting.
      for (let probe = 0; probe < 4; probe++) expect(await within(5_000, registry.reachable(), `probe ${probe + 1}`)).toBe(false);
      await within(8_000, registry.leave(), 'the goodbye');
    } finally {
      postgres().signalAll('SIGCONT');
    }
  });
});
