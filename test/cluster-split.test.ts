/**
 * Nodes that believe they are one cluster but are not, and two clusters that share a part, are
 * refused at start and reported while running (src/server/storage/postgres/node-registry.ts):
 * - one PostgreSQL database, different Redis servers: each node records the run_id of the Redis
 *   server it reaches in its `parley_nodes` row, at every heartbeat;
 * - one Redis server, different databases: each database has a cluster id (`parley_cluster`),
 *   which its nodes announce on Redis (`parley:clusters`).
 * Real servers throughout: a private PostgreSQL, two private Redis servers, and a front door (a
 * TCP relay) for a node whose Redis URL comes to lead to another server while it runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HEARTBEAT_MS } from '../src/server/storage/postgres/node-registry.ts';
import { sleep } from './support/clients.ts';
import { startFrontDoor } from './support/front-door.ts';
import { freePort } from './support/ports.ts';
import { serveProcess } from './support/parley-process.ts';
import { hasPostgres, privatePostgres, queryRows } from './support/postgres.ts';
import { hasRedis, privateRedis, type PrivateRedis } from './support/redis.ts';
import { startTestServer, type TestServer } from './support/server.ts';

type Health = { ok: boolean; database?: string; redis?: string; cluster?: string; settings?: string };

describe.runIf(hasPostgres && hasRedis)('nodes that are not one cluster, and clusters that share a Redis server', () => {
  const postgres = privatePostgres();
  const redisOne = privateRedis();
  const redisTwo = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    // A cluster that used a Redis server it was moved off holds it for 20 s: the next test starts afresh.
    for (const redis of [redisOne(), redisTwo()]) {
      const client = new Redis(redis.url);
      await client.flushall();
      await client.quit();
    }
  });

  /** An in-process node, its log lines kept. */
  async function node(database: string, redisUrl: string, flags: string[] = []): Promise<TestServer & { logs: { level: number; msg: string }[] }> {
    const logs: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) });
    const server = await startTestServer({ flags: ['--database', database, '--redis', redisUrl, ...flags], logger });
    cleanups.push(() => server.close());
    return Object.assign(server, { logs });
  }

  /** `parley serve` as its own process, as an operator runs it: a refusal is its exit status and stderr. */
  async function serve(database: string, redisUrl: string) {
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-cluster-split-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const started = await serveProcess(['--port', '0', '--data', dataDir, '--database', database, '--redis', redisUrl]);
    cleanups.push(async () => {
      started.child.kill('SIGTERM');
      await started.exited;
    });
    return started;
  }

  const sql = queryRows;

  async function redisClient(redis: PrivateRedis): Promise<Redis> {
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    cleanups.push(() => client.quit());
    return client;
  }

  const runId = async (redis: PrivateRedis) => /^run_id:(\w+)/m.exec(await (await redisClient(redis)).info('server'))![1]!;
  const health = async (server: { url: string }) => (await (await fetch(`${server.url}/healthz`)).json()) as Health;

  async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  const errors = (server: { logs: { level: number; msg: string }[] }) => server.logs.filter((line) => line.level >= 50).map((line) => line.msg);

  it('refuses a node on the database of running nodes when it is connected to another Redis server, after looking again a heartbeat later', async () => {
    const database = await postgres().createDatabase();
    await node(database, redisOne().url);
    const started = Date.now();
    await expect(serve(database, redisTwo().url)).rejects.toThrow(
      /parley exited with 1: parley: another Parley node \(.+, pid \d+, last heard \d+ s ago\) runs on this PostgreSQL database connected to another Redis server than this node: the nodes would not hear each other's events\. Give every node the same --redis \(PARLEY_REDIS_URL\)\./,
    );
    // It gave the other node a heartbeat to write its row again (after a Redis restart it would name the new server).
    expect(Date.now() - started).toBeGreaterThan(HEARTBEAT_MS);
    expect(await sql(database, 'SELECT redis_id FROM parley_nodes')).toEqual([{ redis_id: await runId(redisOne()) }]);
  });

  it('lets neither the running nodes report a split nor a new node be refused when their Redis restarts', async () => {
    const database = await postgres().createDatabase();
    const [a, b] = [await node(database, redisOne().url), await node(database, redisOne().url)];
    const clusterId = (await sql<{ id: string }>(database, 'SELECT id::text AS id FROM parley_cluster'))[0]!.id;
    await redisOne().restart(); // a new run_id, and an empty Redis: the announcement is gone too
    const seen = new Set<string>();
    let watching = true;
    const watched = (async () => {
      while (watching) {
        for (const server of [a, b]) seen.add((await health(server)).cluster ?? 'none');
        await sleep(100);
      }
    })();
    try {
      // The rows still name the old server until each node's next heartbeat: the new node looks again then.
      const c = await node(database, redisOne().url);
      const now = await runId(redisOne());
      await until(async () => {
        const rows = await sql<{ redis_id: string | null }>(database, 'SELECT redis_id FROM parley_nodes');
        return rows.length === 3 && rows.every((row) => row.redis_id === now);
      }, 'every row to name the restarted Redis', 12_000);
      // The announcement is back on the restarted Redis.
      expect(await (await redisClient(redisOne())).hkeys('parley:clusters')).toEqual([clusterId]);
      await sleep(HEARTBEAT_MS + 1_000); // a heartbeat more in which each node compares the rows as they are now
      expect(await health(c)).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'ok', settings: 'same' });
    } finally {
      watching = false;
      await watched;
    }
    expect([...seen]).toEqual(['ok']);
    expect([...errors(a), ...errors(b)]).toEqual([]);
  });

  it('reports nodes on one database connected to different Redis servers in /healthz and the log, once, until they agree again', async () => {
    const database = await postgres().createDatabase();
    // Node A reaches Redis through a relay that an operator's DNS change, say, points elsewhere later.
    let target = redisOne().port;
    const door = await startFrontDoor(() => target);
    cleanups.push(() => door.close());
    const a = await node(database, `redis://127.0.0.1:${door.port}`);
    const b = await node(database, redisOne().url);
    expect(await health(a)).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'ok', settings: 'same' });

    target = redisTwo().port;
    door.cut();
    // Each sees the other's row name another server over two of its heartbeats.
    await until(async () => (await health(a)).cluster === 'other-redis' && (await health(b)).cluster === 'other-redis', 'both nodes to report the split', 20_000);
    expect(await health(b)).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'other-redis', settings: 'same' });
    await sleep(HEARTBEAT_MS); // another heartbeat: the split is still there, and not logged again
    for (const server of [a, b]) {
      expect(errors(server)).toEqual([expect.stringMatching(/^another Parley node on this PostgreSQL database \(.+, pid \d+\) is connected to another Redis server: the nodes do not hear each other's events\. Give every node the same --redis/)]);
    }

    target = redisOne().port;
    door.cut();
    await until(async () => (await health(a)).cluster === 'ok' && (await health(b)).cluster === 'ok', 'both nodes to agree again', 15_000);
    expect(b.logs.map((line) => line.msg)).toContain('every node on this PostgreSQL database is connected to this Redis server again');
  });

  it('refuses a node of another cluster (another database) on a Redis server a cluster uses, whatever Redis database number it names', async () => {
    const [first, second] = [await postgres().createDatabase(), await postgres().createDatabase()];
    const a = await node(first, redisOne().url);
    const refused =
      /parley exited with 1: parley: this Redis server is used by another Parley cluster, on another PostgreSQL database \(its node on .+, pid \d+, announced it \d+ s ago\): the clusters would receive each other's events and share presence and limits\. Give each cluster its own Redis server; Redis database numbers \(redis:\/\/…\/2\) do not separate its channels\./;
    await expect(serve(second, redisOne().url)).rejects.toThrow(refused);
    await expect(serve(second, `${redisOne().url}/2`)).rejects.toThrow(refused);
    // The refused node left no trace on Redis, nor in its database (its registration was rolled back whole, the registry's table with it).
    expect(await (await redisClient(redisOne())).hlen('parley:clusters')).toBe(1);
    expect(await sql(second, `SELECT to_regclass('parley_nodes')::text AS registry`)).toEqual([{ registry: null }]);
    expect((await health(a)).cluster).toBe('ok');

    // The first cluster's last node, stopped cleanly, withdraws its announcement: the other cluster may start at once.
    await a.close();
    const b = await node(second, redisOne().url);
    expect((await health(b)).cluster).toBe('ok');
  });

  it("says so when the last node stops while Redis is away, since its cluster's announcement then stays until it is stale", async () => {
    const database = await postgres().createDatabase();
    let target = redisOne().port;
    const door = await startFrontDoor(() => target);
    cleanups.push(() => door.close());
    const a = await node(database, `redis://127.0.0.1:${door.port}`);
    expect(await (await redisClient(redisOne())).hlen('parley:clusters')).toBe(1);
    // Redis goes away for this node only: the door now leads nowhere.
    target = await freePort();
    door.cut();
    await until(async () => (await health(a)).redis === 'down', 'the node to see Redis down', 10_000);
    await a.close();
    expect(a.logs.filter((line) => line.level === 40).map((line) => line.msg)).toContainEqual(
      "could not withdraw this cluster's announcement on Redis (the last node stopping): another Parley cluster can use this Redis server 20 s after this stop",
    );
    expect(await (await redisClient(redisOne())).hlen('parley:clusters')).toBe(1);
  });

  it('warns, and says in /healthz, while nodes run with other cluster-wide settings, naming each difference once; and says when they agree again', async () => {
    const database = await postgres().createDatabase();
    const a = await node(database, redisOne().url, ['--send-rate', '10', '--file-retention', '7d', '--heartbeat-ms', '20000']);
    // Only settings every node should share count: a heartbeat of its own is this node's business.
    const b = await node(database, redisOne().url, ['--send-rate', '20', '--file-retention', '7d', '--public-url', 'https://chat.example.org']);
    const warnings = (server: { logs: { level: number; msg: string }[] }) => server.logs.filter((line) => line.level === 40).map((line) => line.msg);
    const saying = (differences: string) =>
      new RegExp(`^another Parley node on this database \\(.+ pid \\d+\\) was started with other settings than this one: ${differences}\\. Start every node of a cluster with the same ones`);
    // The node that starts second sees it at once; the first at its next heartbeat.
    expect(await health(b)).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'ok', settings: 'differ' });
    expect(warnings(b)).toEqual([expect.stringMatching(saying('--public-url \\(none\\) there, https://chat.example.org here; --send-rate 10 there, 20 here'))]);
    await until(async () => (await health(a)).settings === 'differ', 'the first node to see the other settings', HEARTBEAT_MS * 3);
    expect(warnings(a)).toEqual([expect.stringMatching(saying('--public-url https://chat.example.org there, \\(none\\) here; --send-rate 20 there, 10 here'))]);
    // Said once, not at every heartbeat.
    await sleep(HEARTBEAT_MS + 500);
    expect(warnings(a)).toHaveLength(1);

    // The other node stops: the settings agree again, said once at info level.
    await b.close();
    await until(async () => (await health(a)).settings === 'same', 'the first node to see the same settings again', HEARTBEAT_MS * 3);
    expect(a.logs.filter((line) => line.msg.includes('same cluster-wide settings again'))).toHaveLength(1);
  }, 40_000);

  it('takes a copy of a database (CREATE DATABASE … TEMPLATE) for another cluster, with an id of its own', async () => {
    const original = await postgres().createDatabase();
    const first = await node(original, redisOne().url);
    await first.close(); // a template must have no connections
    const copy = original.replace(/\/(\w+)$/, '/$1_copy');
    await sql(postgres().url(), `CREATE DATABASE ${new URL(copy).pathname.slice(1)} TEMPLATE ${new URL(original).pathname.slice(1)}`);
    const idOf = async (database: string) => (await sql<{ id: string }>(database, 'SELECT id::text AS id FROM parley_cluster'))[0]!.id;
    expect(await idOf(copy)).toBe(await idOf(original)); // the row came along

    await node(original, redisOne().url);
    await expect(serve(copy, redisOne().url)).rejects.toThrow(/this Redis server is used by another Parley cluster, on another PostgreSQL database/);
    const b = await node(copy, redisTwo().url);
    expect((await health(b)).cluster).toBe('ok');
    expect(await idOf(copy)).not.toBe(await idOf(original));
  });

  it('reports another cluster that comes to use this Redis server while running, in /healthz and the log', async () => {
    const [first, second] = [await postgres().createDatabase(), await postgres().createDatabase()];
    const a = await node(first, redisOne().url);
    let target = redisTwo().port;
    const door = await startFrontDoor(() => target);
    cleanups.push(() => door.close());
    const b = await node(second, `redis://127.0.0.1:${door.port}`);
    expect((await health(b)).cluster).toBe('ok');

    target = redisOne().port;
    door.cut();
    await until(async () => (await health(a)).cluster === 'shared-redis' && (await health(b)).cluster === 'shared-redis', 'both clusters to report the shared Redis', 15_000);
    expect(await health(a)).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'shared-redis', settings: 'same' });
    for (const server of [a, b]) {
      expect(errors(server)).toEqual([expect.stringMatching(/^another Parley cluster, on another PostgreSQL database \(a node on .+, pid \d+\), uses this Redis server: the clusters receive each other's events/)]);
    }

    target = redisTwo().port;
    door.cut();
    // B's announcement on the first Redis goes stale (20 s) unless withdrawn; B itself sees the second Redis alone at once.
    await until(async () => (await health(b)).cluster === 'ok', 'B to see its own Redis alone again', 10_000);
  });
});
