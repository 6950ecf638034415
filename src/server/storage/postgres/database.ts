import pg from 'pg';
import { asUnavailable, isQueryTimeout } from './unavailable.ts';

/** What a query runs on: the pool (one statement, autocommit) or a transaction's client. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

const INT8 = 20;

/**
 * bigint (ids, seqs, revs, millisecond times, counts) is read as a JavaScript number: every value
 * Parley stores stays far below 2^53. Set per pool, not on the driver's global type table.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Deadlock and serialization failures: the transaction was rolled back whole and may run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const ATTEMPTS = 5;

/**
 * The server's bound on one statement's answer (PostgresStore): a database that keeps its
 * connections open but does not answer (a paused server, a network that drops packets without
 * closing anything) fails the statement with STORE_UNAVAILABLE after this long, and the
 * connection is dropped, instead of holding every send of the node for as long as it lasts.
 * Well above any statement the server runs (its longest wait is another node's row lock, held
 * for one commit), and as long as a connection attempt may take.
 */
export const QUERY_TIMEOUT_MS = 10_000;

export class Database implements Queryable {
  readonly pool: pg.Pool;

  /** `queryTimeoutMs`: how long a statement may wait for its answer (none: for ever, as for exports and migrations that copy whole tables). */
  constructor(url: string, max = 10, { queryTimeoutMs }: { queryTimeoutMs?: number } = {}) {
    // A database that does not answer fails a connection attempt after 10 s, or the statements' own bound where
    // it is given (one bound for a send, whether its batch waits for a connection or for an answer; never a hang);
    // keep-alive notices a peer that vanished without closing. A node cut off in the middle of a transaction
    // would hold its row locks (a conversation's next seq) until PostgreSQL ends its session: after 30 s idle.
    this.pool = new pg.Pool({
      connectionString: url,
      max,
      types,
      ...(queryTimeoutMs ? { query_timeout: queryTimeoutMs } : {}),
      connectionTimeoutMillis: queryTimeoutMs ?? 10_000,
      keepAlive: true,
      application_name: 'parley',
      idle_in_transaction_session_timeout: 30_000,
    });
    // An idle client whose server went away emits here; without a listener it would crash the process.
    this.pool.on('error', () => {});
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  /**
   * Runs `work` in one READ COMMITTED transaction on one connection. Row locks taken inside
   * (`FOR UPDATE`, `UPDATE … RETURNING`) serialise writers on other nodes; a deadlock between
   * two of them rolls one back, which runs again from the start.
   */
  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect().catch((error: unknown) => {
        throw asUnavailable(error);
      });
      let broken = false;
      // The pool stops listening to a client it hands out: a connection lost between two statements
      // would otherwise be an unhandled 'error' event, which ends the process.
      const lost = () => (broken = true);
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A statement that timed out may still be running on a connection that no longer answers:
        // a ROLLBACK would wait behind it. Dropping the connection rolls the transaction back.
        if (isQueryTimeout(error)) broken = true;
        else await client.query('ROLLBACK').catch(() => (broken = true));
        if (attempt < ATTEMPTS && RETRYABLE.has((error as { code?: string }).code ?? '')) continue;
        throw asUnavailable(error);
      } finally {
        client.removeListener('error', lost);
        client.release(broken);
      }
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
