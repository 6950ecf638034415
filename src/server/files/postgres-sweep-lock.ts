import type { Database } from '../storage/postgres/database.ts';
import type { OneAtATime } from './one-at-a-time.ts';

/** The advisory lock of the file sweep: 'parl' (as the migrations' lock), then 1. */
export const SWEEP_LOCK = [0x7061726c, 1] as const;

/**
 * The expiry sweep once across the cluster: a node sweeps only while it holds a session advisory
 * lock, and a node that finds it taken skips this round (the holder does the work). The lock is on
 * a connection of its own for the sweep's few seconds; a connection lost meanwhile releases it.
 */
export class PostgresSweepLock implements OneAtATime {
  constructor(private readonly db: Database) {}

  async run(work: () => Promise<void>): Promise<void> {
    const client = await this.db.pool.connect();
    let broken = false;
    // As in Database.transaction: a connection lost while held out of the pool must not end the process.
    const lost = () => (broken = true);
    client.on('error', lost);
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [...SWEEP_LOCK]);
      if (!rows[0]?.locked) return;
      try {
        await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [...SWEEP_LOCK]).catch(() => (broken = true));
      }
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  }
}
