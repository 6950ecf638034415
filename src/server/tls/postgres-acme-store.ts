import type { Logger } from 'pino';
import type { Database } from '../storage/postgres/database.ts';
import type { AcmeStore, CertificatePair } from './acme-store.ts';

/** The advisory lock a cluster orders certificates under: 'parl' (as the migrations' lock), then 2 (1 is the file sweep's). */
export const ACME_ORDER_LOCK = [0x7061726c, 2] as const;

/** How a node waits for another node's certificate order. */
export interface OrderWait {
  /** How often it tries the lock again. */
  retryMs: number;
  /** How often the log says it is still waiting. */
  noticeEveryMs: number;
  /**
   * When it gives up. An order takes seconds, a minute for a slow CA; one still running after
   * this is stuck (a node paused, or hung on a CA that does not answer), and waiting on would
   * keep this node from starting, silently, for as long as that lasts.
   */
  maxWaitMs: number;
}

export const ORDER_WAIT: OrderWait = { retryMs: 1000, noticeEveryMs: 60_000, maxWaitMs: 10 * 60_000 };
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

  constructor(
    private readonly db: Database,
    private readonly log: Pick<Logger, 'info' | 'warn'>,
    private readonly wait: OrderWait = ORDER_WAIT,
  ) {}

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
   * minute for a slow CA); a node that finds it taken waits for it, trying once a second and
   * saying so in the log, and gives up after `maxWaitMs` with an error that names the holder's
   * session. A node that dies while ordering loses its connection, and with it the lock.
   */
  async exclusively<T>(order: () => Promise<T>): Promise<T> {
    const client = await this.db.pool.connect();
    let broken = false;
    // As in Database.transaction: a connection lost while held out of the pool must not end the process.
    const lost = () => (broken = true);
    client.on('error', lost);
    try {
      const started = Date.now();
      for (let notices = 0; ; ) {
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [...ACME_ORDER_LOCK]);
        if (rows[0]?.locked) break;
        const waited = Date.now() - started;
        if (waited >= this.wait.maxWaitMs) {
          const holder = await this.orderHolder();
          throw new Error(
            `ACME: another node's certificate order (${holder.description}) has not finished in ${seconds(waited)}: look at that node's log; ` +
              `if it hangs, end its PostgreSQL session (${holder.pid === null ? 'see pg_locks' : `SELECT pg_terminate_backend(${holder.pid})`}) and start this node again`,
          );
        }
        if (waited >= notices * this.wait.noticeEveryMs) {
          const { description } = await this.orderHolder();
          if (notices === 0) this.log.info({ holder: description }, 'ACME: another node is ordering the certificate; waiting for it');
          else this.log.warn({ holder: description, waitedSeconds: Math.round(waited / 1000) }, 'ACME: still waiting for another node\'s certificate order');
          notices = Math.floor(waited / this.wait.noticeEveryMs) + 1;
        }
        await new Promise((resolve) => setTimeout(resolve, this.wait.retryMs));
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

  /** Who holds the order's lock: its PostgreSQL session (pid) and where that session comes from, for the log. */
  private async orderHolder(): Promise<{ pid: number | null; description: string }> {
    try {
      const { rows } = await this.db.query<{ pid: number; addr: string | null; app: string }>(
        `SELECT a.pid, host(a.client_addr) AS addr, a.application_name AS app FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2`,
        [...ACME_ORDER_LOCK],
      );
      const holder = rows[0];
      if (!holder) return { pid: null, description: 'its session could not be found' };
      return { pid: holder.pid, description: `PostgreSQL session ${holder.pid} from ${holder.addr ?? 'a local socket'}, application "${holder.app}"` };
    } catch {
      return { pid: null, description: 'its session could not be read' };
    }
  }

  private async keptAccountKey(directoryUrl: string): Promise<string | null> {
    const { rows } = await this.db.query<{ key_pem: string }>('SELECT key_pem FROM acme_accounts WHERE directory = $1', [directoryUrl]);
    return rows[0]?.key_pem ?? null;
  }
}

function seconds(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} minutes` : `${Math.round(ms / 1000)} s`;
}
