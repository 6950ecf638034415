import type { Database } from '../storage/postgres/database.ts';
import type { AcmeStore, CertificatePair } from './acme-store.ts';

/** The advisory lock a cluster orders certificates under: 'parl' (as the migrations' lock), then 2 (1 is the file sweep's). */
export const ACME_ORDER_LOCK = [0x7061726c, 2] as const;
/** How often a node waiting for another's order tries the lock again. */
const LOCK_RETRY_MS = 1000;
/**
 * A challenge stays answerable this long after it was opened. A CA checks within seconds to
 * minutes; a row older than this was left by a node that died in the middle of an order.
 */
const CHALLENGE_LIFETIME = '1 hour';

/**
 * A cluster's ACME state in PostgreSQL (migration 5): the account key per CA directory, the
 * certificate and its key, and the open challenges, which every node's challenge port answers.
 * The private keys are therefore in the database and its backups, as they are in the data
 * folder and its backups on one node (docs/DEPLOYMENT.md, "TLS").
 */
export class PostgresAcmeStore implements AcmeStore {
  readonly shared = true;

  constructor(private readonly db: Database) {}

  async accountKey(directoryUrl: string, fresh: () => Promise<string>): Promise<string> {
    const kept = await this.keptAccountKey(directoryUrl);
    if (kept !== null) return kept;
    // Two first nodes at once keep one key, and both read that one back.
    await this.db.query('INSERT INTO acme_accounts (directory, key_pem) VALUES ($1, $2) ON CONFLICT (directory) DO NOTHING', [directoryUrl, await fresh()]);
    const stored = await this.keptAccountKey(directoryUrl);
    if (stored === null) throw new Error('the ACME account key could not be stored');
    return stored;
  }

  async certificate(directoryUrl: string, name: string): Promise<CertificatePair | null> {
    const { rows } = await this.db.query<{ cert_pem: string; key_pem: string }>('SELECT cert_pem, key_pem FROM acme_certificates WHERE directory = $1 AND name = $2', [
      directoryUrl,
      name,
    ]);
    return rows[0] ? { cert: rows[0].cert_pem, key: rows[0].key_pem } : null;
  }

  async saveCertificate(directoryUrl: string, name: string, pair: CertificatePair): Promise<void> {
    await this.db.query(
      `INSERT INTO acme_certificates (directory, name, cert_pem, key_pem) VALUES ($1, $2, $3, $4)
       ON CONFLICT (directory, name) DO UPDATE SET cert_pem = EXCLUDED.cert_pem, key_pem = EXCLUDED.key_pem, stored_at = now()`,
      [directoryUrl, name, pair.cert, pair.key],
    );
  }

  async openChallenge(token: string, keyAuthorization: string): Promise<void> {
    await this.db.query(`DELETE FROM acme_challenges WHERE opened_at < now() - interval '${CHALLENGE_LIFETIME}'`);
    await this.db.query(
      'INSERT INTO acme_challenges (token, key_authorization) VALUES ($1, $2) ON CONFLICT (token) DO UPDATE SET key_authorization = EXCLUDED.key_authorization, opened_at = now()',
      [token, keyAuthorization],
    );
  }

  async challenge(token: string): Promise<string | null> {
    const { rows } = await this.db.query<{ key_authorization: string }>(
      `SELECT key_authorization FROM acme_challenges WHERE token = $1 AND opened_at > now() - interval '${CHALLENGE_LIFETIME}'`,
      [token],
    );
    return rows[0]?.key_authorization ?? null;
  }

  async closeChallenge(token: string): Promise<void> {
    await this.db.query('DELETE FROM acme_challenges WHERE token = $1', [token]);
  }

  /**
   * Holds a session advisory lock on a connection of its own for the order (seconds, or a
   * minute for a slow CA); a node that finds it taken waits for it, trying once a second. A node
   * that dies while ordering loses its connection, and with it the lock.
   */
  async exclusively<T>(order: () => Promise<T>): Promise<T> {
    const client = await this.db.pool.connect();
    let broken = false;
    // As in Database.transaction: a connection lost while held out of the pool must not end the process.
    const lost = () => (broken = true);
    client.on('error', lost);
    try {
      for (;;) {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [...ACME_ORDER_LOCK]);
        if (rows[0]?.locked) break;
        await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      }
      try {
        return await order();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [...ACME_ORDER_LOCK]).catch(() => (broken = true));
      }
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  }

  private async keptAccountKey(directoryUrl: string): Promise<string | null> {
    const { rows } = await this.db.query<{ key_pem: string }>('SELECT key_pem FROM acme_accounts WHERE directory = $1', [directoryUrl]);
    return rows[0]?.key_pem ?? null;
  }
}
