import type { Database } from '../storage/postgres/database.ts';
import type { LeaseState, UploadLeases } from './upload-leases.ts';

/**
 * How long a lease lives unless renewed: how long a resume waits when the node that ran the upload
 * died. Its holder renews it far more often (upload-sessions.ts), so a slow query never lets it lapse.
 */
export const LEASE_TTL_MS = 10_000;

/**
 * Upload leases as rows of `upload_leases` (holder, expiry, wanted), taken, renewed and released
 * in single statements. Expiry is on the database's clock, so the nodes' clocks need not agree.
 * A row rather than an advisory lock: a lock lives as long as a connection, and a long upload would
 * hold one of the pool's few for its whole duration.
 */
export class PostgresUploadLeases implements UploadLeases {
  constructor(private readonly db: Database) {}

  async take(id: string, holder: string): Promise<boolean> {
    const taken = await this.db.query(
      `INSERT INTO upload_leases (file_id, holder, expires_at) VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (file_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, wanted = false
        WHERE upload_leases.expires_at < clock_timestamp()`,
      [id, holder, LEASE_TTL_MS],
    );
    if (taken.rowCount === 1) return true;
    await this.db.query('UPDATE upload_leases SET wanted = true WHERE file_id = $1 AND holder <> $2', [id, holder]);
    return false;
  }

  async renew(id: string, holder: string): Promise<LeaseState> {
    const { rows } = await this.db.query<{ wanted: boolean }>(
      `UPDATE upload_leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
        WHERE file_id = $1 AND holder = $2 RETURNING wanted`,
      [id, holder, LEASE_TTL_MS],
    );
    if (rows[0]) return rows[0].wanted ? 'wanted' : 'kept';
    const other = await this.db.query('SELECT 1 FROM upload_leases WHERE file_id = $1', [id]);
    return other.rowCount === 0 ? 'ended' : 'taken';
  }

  async release(id: string, holder: string): Promise<void> {
    await this.db.query('DELETE FROM upload_leases WHERE file_id = $1 AND holder = $2', [id, holder]);
  }

  async isHeld(id: string): Promise<boolean> {
    const held = await this.db.query('SELECT 1 FROM upload_leases WHERE file_id = $1 AND expires_at > clock_timestamp()', [id]);
    return held.rowCount === 1;
  }

  async end(id: string): Promise<void> {
    await this.db.query('DELETE FROM upload_leases WHERE file_id = $1', [id]);
  }
}
