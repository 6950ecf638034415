import { describe, expect, it } from 'vitest';
import { within } from '../../../../test/support/clients.ts';
import { hasPostgres, privatePostgres } from '../../../../test/support/postgres.ts';
import { Database } from './database.ts';

/** The pool's bound on a statement's answer, against a real PostgreSQL that is paused (SIGSTOP), not stopped. */
describe.runIf(hasPostgres)('Database on a PostgreSQL that keeps its connections but does not answer', () => {
  const postgres = privatePostgres();


  it('fails a statement and a transaction with STORE_UNAVAILABLE after the timeout, and serves again on fresh connections once the server answers', async () => {
    const db = new Database(await postgres().createDatabase(), 2, { queryTimeoutMs: 500 });
    try {
      // Two connections in the pool, idle: the statements below go to a server process that is paused, not refused.
      await Promise.all([db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)')]);
      postgres().signalAll('SIGSTOP');
      try {
        const started = Date.now();
        await expect(within(5_000, db.transaction((tx) => tx.query('SELECT 1')), 'a transaction on the paused server')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
        await expect(within(5_000, db.query('SELECT 1'), 'a statement on the paused server')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 450); // each waited for its answer, about the timeout
      } finally {
        postgres().signalAll('SIGCONT');
      }
      // The connections that timed out were dropped, not handed out again mid-statement.
      const { rows } = await within(10_000, db.transaction((tx) => tx.query<{ n: number }>('SELECT 41 + 1 AS n')), 'a transaction once the server answers');
      expect(rows).toEqual([{ n: 42 }]);
      expect((await db.query<{ n: number }>('SELECT 7 AS n')).rows).toEqual([{ n: 7 }]);
    } finally {
      await db.close();
    }
  });
});
