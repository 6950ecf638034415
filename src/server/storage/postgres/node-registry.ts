import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import pg from 'pg';
import { cannotUseDatabase, StoreUnavailableError } from '../open-store.ts';
import { clusterIdOf, databaseHome } from './cluster-identity.ts';
import { otherRedisRefusal, refusal, sharedRedisRefusal } from './node-refusals.ts';
import { settingsDifferences, type NodeSettings } from './node-settings.ts';

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

/**
 * After finding a fresh node that recorded another Redis server, how long a starting node waits
 * before it looks again: a little more than one heartbeat. Redis makes a new run_id when it
 * restarts, and a node records the one it sees at each heartbeat, so after a restart a node's row
 * may name the old server for up to one heartbeat; the other node's next heartbeat settles it.
 */
const RECHECK_MS = HEARTBEAT_MS + 1_500;

/**
 * Another node runs on this database in a way that cannot make one cluster with this one (a node
 * without Redis, a node connected to another Redis server), or another cluster uses this node's
 * Redis server: Parley does not start.
 */
export class MixedNodesError extends StoreUnavailableError {}

/** Another cluster (another PostgreSQL database) announced on this node's Redis server, and by which node. */
export type ClusterAnnouncement = { clusterId: string; host: string; pid: number; ageMs: number };

/**
 * What the registry asks of this node's Redis (redis/cluster.ts, redis/cluster-announcements.ts).
 * Each method throws (or says null) while Redis cannot be asked; the registry then tries again
 * at the next heartbeat.
 */
export interface ClusterRedis {
  /** Which Redis server this node reaches now (its run_id); null when it cannot be asked. */
  serverId(): Promise<string | null>;
  /** Announces `clusterId` (unless `onlyIfAlone` and another is fresh); returns the other clusters announced within `freshMs`. */
  announce(clusterId: string, node: { host: string; pid: number }, freshMs: number, onlyIfAlone: boolean): Promise<ClusterAnnouncement[]>;
  /** Withdraws `clusterId`'s announcement. */
  withdraw(clusterId: string): Promise<void>;
}

export type RegistryLog = Pick<Logger, 'error' | 'warn' | 'info'>;

/**
 * What /healthz says of the cluster (`"cluster"`, on nodes with --redis): `ok`; `other-redis`
 * while a fresh node on this database has been connected to another Redis server over two of
 * its heartbeats; `shared-redis` while another cluster (another database) announces itself on
 * this node's Redis server.
 */
export type ClusterState = 'ok' | 'other-redis' | 'shared-redis';

export type NodeRow = { id: string; host: string; pid: number; clustered: boolean; age_ms: number; redis_id: string | null; seen: string };


type Registration = { joined: true; clusterId: string | null; renewed: boolean } | { joined: false; otherRedis: NodeRow[] };

/**
 * The nodes running on one PostgreSQL database, each a row refreshed every HEARTBEAT_MS (the
 * database's clock, so the machines' clocks need not agree). It exists to refuse nodes that
 * believe they are one cluster but are not, or two clusters that share a part:
 * - two nodes without Redis (or one with, one without) on one database would each hand their
 *   own clients only their own events, and nobody would notice;
 * - so would two nodes on one database connected to different Redis servers: each row records
 *   the run_id of the Redis server its node reaches (`redis_id`);
 * - two clusters (two databases) on one Redis server would hear each other's events and share
 *   presence and limits, as channel and key names are fixed: each database has a cluster id
 *   (`parley_cluster`), which its nodes announce on Redis (redis/cluster-announcements.ts).
 * At start they are refused with one line; while running, each heartbeat looks again, and what it
 * finds is logged as an error and said by /healthz (`clusterState`).
 * Not a migration: the tables hold no data, only who runs and which cluster this is, and
 * `parley_schema` versions the data.
 *
 * Its small pool of its own also answers /healthz ("database"), so a saturated or stuck store
 * pool does not make the probe hang.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private routingWatcher: ((everyNodeRoutes: boolean, nodes: number) => void) | null = null;
  private counted = 1;
  /** Nodes found connected to another Redis server, with their row's seen_at when first found so. */
  private differing = new Map<string, string>();
  /** Those still connected to another Redis server after writing their row again since (over two heartbeats). */
  private otherRedis: NodeRow[] = [];
  /** Other clusters announced on this node's Redis server at the last heartbeat that could ask it. */
  private sharedWith: ClusterAnnouncement[] = [];
  /** Fresh nodes started with other cluster-wide settings than this one, at the last look, with what differs. */
  private otherSettings: { node: string; differences: string[] }[] = [];

  private constructor(
    private readonly pool: pg.Pool,
    readonly id: string,
    private readonly clustered: boolean,
    private readonly redis: ClusterRedis | null,
    /** This database's cluster id, announced on Redis (null without Redis). */
    readonly clusterId: string | null,
    private readonly log: RegistryLog | null,
    private readonly settings: NodeSettings,
  ) {}

  /**
   * Registers this node, refusing when a fresh node of an incompatible kind holds the database, a
   * fresh node records another Redis server than `redis` (looked at again after a heartbeat
   * first), or another cluster announces itself on `redis`. Without an answer to wait for, it
   * waits for nothing: the normal start is one transaction and two Redis commands.
   */
  static async join(
    url: string,
    clustered: boolean,
    options: { redis?: ClusterRedis; log?: RegistryLog; settings?: NodeSettings } = {},
  ): Promise<NodeRegistry> {
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 2_000, application_name: 'parley-heartbeat' });
    pool.on('error', () => {});
    const redis = clustered ? (options.redis ?? null) : null;
    const log = options.log ?? null;
    const id = randomUUID();
    const settings = options.settings ?? {};
    try {
      /** Nodes found recording another Redis server, and their row's seen_at then. */
      const waitingFor = new Map<string, string>();
      for (let attempt = 1; ; attempt++) {
        const redisId = redis ? await redis.serverId() : null;
        if (redis && redisId === null && attempt === 1) {
          log?.warn('Redis did not say its run_id (INFO server, denied by an ACL?): this node cannot check that every node uses the same Redis server');
        }
        const registration = await register(pool, url, { id, clustered, settings }, redis, redisId);
        if (registration.joined) {
          if (registration.renewed) log?.info({ clusterId: registration.clusterId }, 'this PostgreSQL database is a copy of another one: it is a cluster of its own, with a new cluster id');
          const registry = new NodeRegistry(pool, id, clustered, redis, registration.clusterId, log, settings);
          await registry.compareSettings();
          registry.timer = setInterval(() => void registry.beat(), HEARTBEAT_MS);
          registry.timer.unref();
          return registry;
        }
        // A node whose row named another Redis server, written again since and naming it still, is on another one.
        for (const other of registration.otherRedis) {
          const first = waitingFor.get(other.id);
          if (first !== undefined && first !== other.seen) throw new MixedNodesError(otherRedisRefusal(other));
          if (first === undefined) waitingFor.set(other.id, other.seen);
        }
        // Maybe Redis restarted and that node has not seen it yet: its next heartbeat says (or its row goes stale).
        const other = registration.otherRedis[0]!;
        log?.info({ node: `${other.host} pid ${other.pid}` }, 'another node recorded another Redis server than this one: waiting for its next heartbeat');
        await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
      }
    } catch (error) {
      await pool.end();
      throw error;
    }
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

  /**
   * Finds the fresh nodes started with other cluster-wide settings than this one (node-settings.ts)
   * and warns once per change: a person's limits, files and allowed addresses would depend on the
   * node they reach. Not refused, so a setting can be changed one node at a time. While the
   * database cannot say, the last answer stands.
   */
  private async compareSettings(): Promise<void> {
    const answer = await this
      .query<{ host: string; pid: number; settings: NodeSettings }>(
        `SELECT host, pid, settings FROM parley_nodes
         WHERE id <> $1 AND settings IS NOT NULL AND seen_at > now() - make_interval(secs => $2) ORDER BY started_at, id`,
        [this.id, FRESH_MS / 1000],
      )
      .catch(() => null);
    if (!answer) return;
    const found = answer.rows
      .map((row) => ({ node: `${row.host} pid ${row.pid}`, differences: settingsDifferences(this.settings, row.settings) }))
      .filter((other) => other.differences.length > 0);
    const key = (list: typeof found) => JSON.stringify(list);
    if (key(found) === key(this.otherSettings)) return; // logged once per change, not at every heartbeat
    this.otherSettings = found;
    const [first] = found;
    if (first) {
      this.log?.warn(
        { nodes: found },
        `another Parley node on this database (${first.node}) was started with other settings than this one: ${first.differences.join('; ')}. ` +
          'Start every node of a cluster with the same ones, or what people meet depends on the node they reach.',
      );
    } else {
      this.log?.info('every node on this database runs with the same cluster-wide settings again');
    }
  }

  /** What /healthz says of the nodes' settings: `differ` while a fresh node runs with other cluster-wide settings (compareSettings). */
  get settingsState(): 'same' | 'differ' {
    return this.otherSettings.length > 0 ? 'differ' : 'same';
  }

  /** What /healthz says of the cluster: whether this node and the others make one (ClusterState). */
  get clusterState(): ClusterState {
    if (this.otherRedis.length > 0) return 'other-redis';
    if (this.sharedWith.length > 0) return 'shared-redis';
    return 'ok';
  }

  /** One heartbeat at a time: one that waits for an answer (2 s at most each) is not joined by the next. */
  private beat(): Promise<void> {
    this.beating ??= this.heartbeat().finally(() => (this.beating = null));
    return this.beating;
  }

  /**
   * Refreshes this node's row, with the Redis server it reaches now (null while it cannot ask
   * Redis: then the others do not compare theirs with it); a row swept while the database was
   * away (or by a stale sweep) is written again. Then looks at the cluster again.
   */
  private async heartbeat(): Promise<void> {
    const redisId = this.redis ? await this.redis.serverId() : null;
    await this
      .query(
        `INSERT INTO parley_nodes (id, host, pid, clustered, routes, redis_id, settings) VALUES ($1, $2, $3, $4, true, $5, $6)
         ON CONFLICT (id) DO UPDATE SET seen_at = now(), redis_id = EXCLUDED.redis_id`,
        [this.id, hostname(), process.pid, this.clustered, redisId, this.settings],
      )
      .catch(() => {}); // /healthz says the database is down; the next beat tries again
    if (this.redis) {
      await this.compareRedis(redisId);
      await this.announce(this.redis);
    }
    await this.checkRouting();
    await this.compareSettings();
  }

  /**
   * Finds the fresh nodes connected to another Redis server than this one. One whose row names
   * another server may not have seen a Redis restart yet (a new run_id) when it last wrote it: it
   * counts once it has written its row again since and names another server still, so once over
   * two heartbeats. While this node cannot ask Redis or the database, the last answer stands.
   */
  private async compareRedis(redisId: string | null): Promise<void> {
    if (redisId === null) return;
    const answer = await this
      .query<NodeRow>(
        `SELECT id, host, pid, seen_at::text AS seen FROM parley_nodes
         WHERE id <> $1 AND clustered AND redis_id IS NOT NULL AND redis_id <> $2 AND seen_at > now() - make_interval(secs => $3)
         ORDER BY started_at, id`,
        [this.id, redisId, FRESH_MS / 1000],
      )
      .catch(() => null);
    if (!answer) return;
    const differing = new Map<string, string>();
    const confirmed: NodeRow[] = [];
    for (const row of answer.rows) {
      const first = this.differing.get(row.id) ?? row.seen;
      differing.set(row.id, first);
      if (first !== row.seen) confirmed.push(row);
    }
    this.differing = differing;
    const before = this.otherRedis.map((node) => node.id).join();
    this.otherRedis = confirmed;
    if (confirmed.map((node) => node.id).join() === before) return; // logged once per change, not at every heartbeat
    const [other] = confirmed;
    if (other) {
      this.log?.error(
        { nodes: confirmed.map((node) => `${node.host} pid ${node.pid}`) },
        `another Parley node on this PostgreSQL database (${other.host}, pid ${other.pid}) is connected to another Redis server: ` +
          `the nodes do not hear each other's events. Give every node the same --redis (PARLEY_REDIS_URL).`,
      );
    } else {
      this.log?.info('every node on this PostgreSQL database is connected to this Redis server again');
    }
  }

  /** Announces this cluster on Redis, and finds another cluster announced there. While Redis cannot be asked, the last answer stands. */
  private async announce(redis: ClusterRedis): Promise<void> {
    const others = await redis.announce(this.clusterId!, { host: hostname(), pid: process.pid }, FRESH_MS, false).catch(() => null);
    if (!others) return;
    const before = this.sharedWith.map((other) => other.clusterId).sort().join();
    this.sharedWith = others;
    if (others.map((other) => other.clusterId).sort().join() === before) return;
    const [other] = others;
    if (other) {
      this.log?.error(
        { clusters: others.map((cluster) => cluster.clusterId) },
        `another Parley cluster, on another PostgreSQL database (a node on ${other.host}, pid ${other.pid}), uses this Redis server: ` +
          `the clusters receive each other's events and share presence and limits. Give each cluster its own Redis server; ` +
          `Redis database numbers (redis://…/2) do not separate its channels.`,
      );
    } else {
      this.log?.info('no other Parley cluster uses this Redis server any more');
    }
  }

  private async checkRouting(): Promise<void> {
    if (!this.routingWatcher) return;
    const answer = await this
      .query<{ every: boolean | null; nodes: number }>(
        `SELECT bool_and(routes) AS every, count(*)::integer AS nodes FROM parley_nodes WHERE seen_at > now() - make_interval(secs => $1)`,
        [FRESH_MS / 1000],
      )
      .catch(() => null);
    if (!answer) return;
    // This node counts even while its own row is being written again.
    this.counted = Math.max(1, answer.rows[0]?.nodes ?? 1);
    this.routingWatcher?.(answer.rows[0]?.every !== false, this.counted);
  }

  /** The nodes running on the database, as the last heartbeat counted them (with a routing watcher: cluster mode). */
  get nodesRunning(): number {
    return this.counted;
  }

  /** A statement of the running node: failed, and its connection dropped, after ANSWER_TIMEOUT_MS without an answer. */
  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ text, values, query_timeout: ANSWER_TIMEOUT_MS } as pg.QueryConfig);
  }

  /**
   * Stops the heartbeat and removes this node's row, so another node (of any kind) may start at
   * once. The last node of its cluster also withdraws the cluster's announcement on Redis, so
   * another cluster may use that Redis at once (a cluster whose nodes were killed holds it until
   * its announcement is stale, FRESH_MS).
   */
  async leave(): Promise<void> {
    this.routingWatcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating; // else it could write the row again after the goodbye
    const removed = await this.query('DELETE FROM parley_nodes WHERE id = $1', [this.id]).then(
      () => true,
      () => false,
    );
    if (removed && this.redis && this.clusterId) {
      const left = await this
        .query<{ nodes: number }>(`SELECT count(*)::integer AS nodes FROM parley_nodes WHERE seen_at > now() - make_interval(secs => $1)`, [FRESH_MS / 1000])
        .catch(() => null);
      // Not withdrawn, the announcement lasts until it is stale: only another cluster on this Redis would notice, by being refused meanwhile.
      const stale = `another Parley cluster can use this Redis server ${FRESH_MS / 1000} s after this stop`;
      if (!left) this.log?.warn(`could not count the nodes still running on the database, so this cluster's announcement on Redis stays: ${stale}`);
      else if (left.rows[0]?.nodes === 0) {
        await this.redis.withdraw(this.clusterId).catch((error: unknown) => this.log?.warn({ err: error }, `could not withdraw this cluster's announcement on Redis (the last node stopping): ${stale}`));
      }
    }
    await this.pool.end();
  }
}

/**
 * One attempt to register, in one transaction under the registry's lock. Refuses (throws
 * MixedNodesError) a node that cannot share the database with a fresh one, or whose Redis another
 * cluster uses; says which fresh nodes record another Redis server than `redisId`, without
 * registering, for the caller to look again later.
 */
async function register(
  pool: pg.Pool,
  url: string,
  { id, clustered, settings }: { id: string; clustered: boolean; settings: NodeSettings },
  redis: ClusterRedis | null,
  redisId: string | null,
): Promise<Registration> {
  const client = await pool.connect().catch((error: unknown) => {
    throw new StoreUnavailableError(cannotUseDatabase(url, error), { cause: error });
  });
  try {
    const home = redis ? await databaseHome(client) : null;
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS parley_nodes (
      id text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL, clustered boolean NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(), seen_at timestamptz NOT NULL DEFAULT now())`);
    // Whether the node hears users' own channels (events/redis-bus.ts, routing): a node of an
    // earlier version leaves it false, and the others then send every event on the common channel.
    await client.query('ALTER TABLE parley_nodes ADD COLUMN IF NOT EXISTS routes boolean NOT NULL DEFAULT false');
    // The run_id of the Redis server the node reached at its last heartbeat: null when it could not
    // ask, and for a node of an earlier version, and then nobody compares theirs with it.
    await client.query('ALTER TABLE parley_nodes ADD COLUMN IF NOT EXISTS redis_id text');
    // The settings every node should share (node-settings.ts): null for a node of an earlier version, compared with nobody.
    await client.query('ALTER TABLE parley_nodes ADD COLUMN IF NOT EXISTS settings jsonb');
    // A node killed without closing leaves its row: once stale, it is nobody.
    await client.query(`DELETE FROM parley_nodes WHERE seen_at < now() - make_interval(secs => $1)`, [FRESH_MS / 1000]);
    const { rows } = await client.query<NodeRow>(
      `SELECT id, host, pid, clustered, redis_id, seen_at::text AS seen, (extract(epoch FROM now() - seen_at) * 1000)::integer AS age_ms
       FROM parley_nodes ORDER BY started_at, id`,
    );
    const conflict = rows.find((other) => !clustered || !other.clustered);
    if (conflict) throw new MixedNodesError(refusal(clustered, conflict));
    const otherRedis = redisId === null ? [] : rows.filter((other) => other.redis_id !== null && other.redis_id !== redisId);
    if (otherRedis.length > 0) {
      await client.query('ROLLBACK');
      return { joined: false, otherRedis };
    }
    let cluster: { id: string; renewed: boolean } | null = null;
    if (redis && home) {
      cluster = await clusterIdOf(client, home);
      // Redis lost since this node connected: it starts, and its first heartbeat with Redis back looks.
      const others = await redis.announce(cluster.id, { host: hostname(), pid: process.pid }, FRESH_MS, true).catch(() => []);
      if (others[0]) throw new MixedNodesError(sharedRedisRefusal(others[0]));
    }
    await client.query('INSERT INTO parley_nodes (id, host, pid, clustered, routes, redis_id, settings) VALUES ($1, $2, $3, $4, true, $5, $6)', [
      id,
      hostname(),
      process.pid,
      clustered,
      redisId,
      settings,
    ]);
    await client.query('COMMIT');
    return { joined: true, clusterId: cluster?.id ?? null, renewed: cluster?.renewed ?? false };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
