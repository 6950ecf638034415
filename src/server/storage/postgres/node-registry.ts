import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { redactedUrl, StoreUnavailableError } from '../open-store.ts';

/** How often a node says it is alive, and how long after its last word another node still counts it. */
export const HEARTBEAT_MS = 5_000;
export const FRESH_MS = 20_000;

/**
 * How long the heartbeat, the routing check, /healthz's probe and the goodbye wait for an answer.
 * A database that keeps the connection but does not answer (paused, a network that drops
 * packets) would otherwise hold each of them for as long as it lasts: every probe would add a
 * query waiting for a connection of this small pool, without end, and a clean shutdown would
 * wait on the goodbye. The start's registration has no such bound: it may wait for another
 * starting node's turn.
 */
const ANSWER_TIMEOUT_MS = 2_000;

/** Any fixed number, not the migration lock's: nodes starting together check and register one at a time. */
const REGISTRY_LOCK = 0x70726e64; // 'prnd'

/** Another node runs on this database in a mode that cannot share it with this one: Parley does not start. */
export class MixedNodesError extends StoreUnavailableError {}

type NodeRow = { id: string; host: string; pid: number; clustered: boolean; age_ms: number };

/**
 * The nodes running on one PostgreSQL database, each a row refreshed every HEARTBEAT_MS (the
 * database's clock, so the machines' clocks need not agree). It exists to refuse a half-configured
 * cluster: two nodes without Redis (or one with, one without) on one database would each hand
 * their own clients only their own events, and nobody would notice. Not a migration: the table
 * holds no data, only who runs, and `parley_schema` versions the data.
 *
 * Its small pool of its own also answers /healthz ("database"), so a saturated or stuck store
 * pool does not make the probe hang.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | null = null;
  private routingWatcher: ((everyNodeRoutes: boolean, nodes: number) => void) | null = null;

  private constructor(
    private readonly pool: pg.Pool,
    readonly id: string,
    private readonly clustered: boolean,
  ) {}

  /** Registers this node, refusing when a fresh node of an incompatible kind holds the database. */
  static async join(url: string, clustered: boolean): Promise<NodeRegistry> {
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 2_000, application_name: 'parley-heartbeat' });
    pool.on('error', () => {});
    const id = randomUUID();
    const client = await pool.connect().catch(async (error: unknown) => {
      await pool.end();
      throw new StoreUnavailableError(`Cannot use the PostgreSQL database ${redactedUrl(url)}: ${(error as Error).message}`, { cause: error });
    });
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS parley_nodes (
        id text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL, clustered boolean NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(), seen_at timestamptz NOT NULL DEFAULT now())`);
      // Whether the node hears users' own channels (events/redis-bus.ts, routing): a node of an
      // earlier version leaves it false, and the others then send every event on the common channel.
      await client.query('ALTER TABLE parley_nodes ADD COLUMN IF NOT EXISTS routes boolean NOT NULL DEFAULT false');
      // A node killed without closing leaves its row: once stale, it is nobody.
      await client.query(`DELETE FROM parley_nodes WHERE seen_at < now() - make_interval(secs => $1)`, [FRESH_MS / 1000]);
      const { rows } = await client.query<NodeRow>(
        `SELECT id, host, pid, clustered, (extract(epoch FROM now() - seen_at) * 1000)::integer AS age_ms FROM parley_nodes`,
      );
      const conflict = rows.find((other) => !clustered || !other.clustered);
      if (conflict) throw new MixedNodesError(refusal(clustered, conflict));
      await client.query('INSERT INTO parley_nodes (id, host, pid, clustered, routes) VALUES ($1, $2, $3, $4, true)', [id, hostname(), process.pid, clustered]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      await pool.end();
      throw error;
    }
    client.release();
    const registry = new NodeRegistry(pool, id, clustered);
    registry.timer = setInterval(() => void registry.beat(), HEARTBEAT_MS);
    registry.timer.unref();
    return registry;
  }

  /** The database answers within two seconds (for /healthz). */
  async reachable(): Promise<boolean> {
    const answer = this.query('SELECT 1').then(
      () => true,
      () => false,
    );
    let timeout: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timeout = setTimeout(() => resolve(false), 2_000)));
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timeout);
    }
  }

  /**
   * Tells `watcher` now and at every heartbeat whether every node running routes events by
   * audience (events/redis-bus.ts, `routeWhen`), and how many run. While the database cannot say, the last answer stands.
   */
  async watchRouting(watcher: (everyNodeRoutes: boolean, nodes: number) => void): Promise<void> {
    this.routingWatcher = watcher;
    await this.checkRouting();
  }

  /** Refreshes this node's row; a row swept while the database was away (or by a stale sweep) is written again. */
  private async beat(): Promise<void> {
    await this
      .query(
        `INSERT INTO parley_nodes (id, host, pid, clustered, routes) VALUES ($1, $2, $3, $4, true)
         ON CONFLICT (id) DO UPDATE SET seen_at = now()`,
        [this.id, hostname(), process.pid, this.clustered],
      )
      .catch(() => {}); // /healthz says the database is down; the next beat tries again
    await this.checkRouting();
  }

  private async checkRouting(): Promise<void> {
    if (!this.routingWatcher) return;
    const answer = await this
      .query<{ every: boolean | null; nodes: number }>(
        `SELECT bool_and(routes) AS every, count(*)::integer AS nodes FROM parley_nodes WHERE seen_at > now() - make_interval(secs => $1)`,
        [FRESH_MS / 1000],
      )
      .catch(() => null);
    // This node counts even while its own row is being written again.
    if (answer) this.routingWatcher?.(answer.rows[0]?.every !== false, Math.max(1, answer.rows[0]?.nodes ?? 1));
  }

  /** A statement of the running node: failed, and its connection dropped, after ANSWER_TIMEOUT_MS without an answer. */
  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ text, values, query_timeout: ANSWER_TIMEOUT_MS } as pg.QueryConfig);
  }

  /** Stops the heartbeat and removes this node's row, so another node (of any kind) may start at once. */
  async leave(): Promise<void> {
    this.routingWatcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.query('DELETE FROM parley_nodes WHERE id = $1', [this.id]).catch(() => {});
    await this.pool.end();
  }
}

function refusal(clustered: boolean, other: NodeRow): string {
  const who = `another Parley node (${other.host}, pid ${other.pid}, last heard ${Math.round(other.age_ms / 1000)} s ago)`;
  if (clustered) {
    return `${who} runs on this PostgreSQL database without --redis: stop it, or give it the same --redis as this one, before starting a cluster node.`;
  }
  return other.clustered
    ? `${who} runs on this PostgreSQL database with --redis: give this node the same --redis (PARLEY_REDIS_URL); without it, its clients would not see the other nodes' messages.`
    : `${who} runs on this PostgreSQL database without --redis: two nodes need --redis (PARLEY_REDIS_URL) to share one database; stop the other node or give both the same --redis.`;
}
