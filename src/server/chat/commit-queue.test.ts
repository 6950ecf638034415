import { describe, expect, it } from 'vitest';
import { within } from '../../../test/support/clients.ts';
import { hasPostgres, privatePostgres } from '../../../test/support/postgres.ts';
import { WORLD } from '../../protocol/index.ts';
import { pending, withUsers } from '../storage/contract/support.ts';
import { PostgresStore } from '../storage/postgres/postgres-store.ts';
import { CommitQueue } from './commit-queue.ts';

/** Group commit on a real PostgreSQL that keeps its connections but stops answering (SIGSTOP). */
describe.runIf(hasPostgres)('CommitQueue on a PostgreSQL that does not answer', () => {
  const postgres = privatePostgres();

  it('fails the sends queued behind a batch the database did not answer together with it, within one bound, and stores none of them', async () => {
    const bound = 800;
    const store = await PostgresStore.open(await postgres().createDatabase(), { queryTimeoutMs: bound });
    try {
      const [alice] = await withUsers(store, 'alice');
      const committed: number[] = [];
      const queue = new CommitQueue(store, (result) => result.ok && committed.push(result.message.seq));
      await queue.enqueue(pending(WORLD, alice!, 'before'));
      postgres().signalAll('SIGSTOP');
      let first: Promise<unknown>;
      let behind: Promise<unknown>[];
      const started = Date.now();
      try {
        first = queue.enqueue(pending(WORLD, alice!, 'stuck'));
        first.catch(() => {});
        // Queued while the first batch waits for its answer.
        await new Promise((resolve) => setTimeout(resolve, bound / 2));
        behind = ['behind-1', 'behind-2'].map((clientId) => queue.enqueue(pending(WORLD, alice!, clientId)));
        for (const send of behind) send.catch(() => {});
        await expect(within(5_000, first, 'the stuck batch')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
        for (const send of behind) await expect(within(5_000, send, 'a send queued behind it')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
        // One bound for all of them, not one bound each in turn.
        expect(Date.now() - started).toBeLessThan(bound * 1.75);
        // A send after that, the database still silent, waits one bound of its own (for a connection this time).
        const later = Date.now();
        await expect(within(5_000, queue.enqueue(pending(WORLD, alice!, 'later')), 'a send after the failure')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
        expect(Date.now() - later).toBeLessThan(bound * 1.75);
      } finally {
        postgres().signalAll('SIGCONT');
      }
      // Once it answers, the same client ids are taken, once each, after what was stored before.
      const retried = await within(10_000, Promise.all(['stuck', 'behind-1', 'behind-2'].map((clientId) => queue.enqueue(pending(WORLD, alice!, clientId)))), 'the retries');
      expect(retried.map((result) => result.ok && !result.duplicate)).toEqual([true, true, true]);
      expect(committed).toEqual([1, 2, 3, 4]);
    } finally {
      await store.close();
    }
  });
});
