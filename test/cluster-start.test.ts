/**
 * Half-configured set-ups are refused at start: a node without Redis beside another node on the
 * same PostgreSQL database (either way round), with one line that says what to change. Nodes
 * record a heartbeat row (src/server/storage/postgres/node-registry.ts); a stale one is nobody.
 * Nodes on different Redis servers, and clusters sharing one: test/cluster-split.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { serveProcess } from './support/parley-process.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { hasRedis, privateRedis } from './support/redis.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe.runIf(hasPostgres && hasRedis)('starting a node on a PostgreSQL database other nodes use', () => {
  const postgres = privatePostgres();
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    // Each test is a deployment of its own on this Redis; one stopped a moment ago may still hold
    // it (a cluster's announcement lasts 20 s when its last node could not withdraw it: docs/DEPLOYMENT.md).
    await redis().flush();
  });

  async function node(database: string, withRedis: boolean): Promise<TestServer> {
    const server = await startTestServer({ flags: ['--database', database, ...(withRedis ? ['--redis', redis().url] : [])] });
    cleanups.push(() => server.close());
    return server;
  }

  it('refuses a node without --redis while a cluster node runs on the database, and exits 1 with one line saying what to give it', async () => {
    const database = await postgres().createDatabase();
    await node(database, true);
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-cluster-start-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await expect(serveProcess(['--port', '0', '--data', dataDir, '--database', database])).rejects.toThrow(
      /parley exited with 1: parley: another Parley node \(.+, pid \d+, last heard \d+ s ago\) runs on this PostgreSQL database with --redis: give this node the same --redis/,
    );
  });

  it('refuses a cluster node while a node without Redis holds the database', async () => {
    const database = await postgres().createDatabase();
    await node(database, false);
    await expect(node(database, true)).rejects.toThrow(/runs on this PostgreSQL database without --redis: stop it, or give it the same --redis/);
  });

  it('refuses a second node without Redis on the same database', async () => {
    const database = await postgres().createDatabase();
    await node(database, false);
    await expect(node(database, false)).rejects.toThrow(/two nodes need --redis \(PARLEY_REDIS_URL\) to share one database/);
  });

  it('warns a cluster node with --tls self-signed that each node has a certificate of its own; a single node is not warned', async () => {
    const warnings = async (withRedis: boolean) => {
      const lines: { level: number; msg: string }[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
      const server = await startTestServer({ flags: ['--database', await postgres().createDatabase(), '--tls', 'self-signed', ...(withRedis ? ['--redis', redis().url] : [])], logger });
      cleanups.push(() => server.close());
      return lines.filter((line) => line.msg.includes('--tls self-signed in a cluster'));
    };
    expect(await warnings(false)).toEqual([]);
    const [warning] = await warnings(true);
    expect(warning?.level).toBe(40);
    expect(warning?.msg).toContain('--tls acme');
  });

  it('starts three cluster nodes on one database side by side', async () => {
    const database = await postgres().createDatabase();
    const nodes = await Promise.all([0, 1, 2].map(() => node(database, true)));
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    cleanups.push(() => client.end());
    expect((await client.query('SELECT clustered FROM parley_nodes')).rows).toEqual([{ clustered: true }, { clustered: true }, { clustered: true }]);
    expect(nodes).toHaveLength(3);
  });

  it('lets a node of the other kind start once the first stopped cleanly, or once a killed node\'s heartbeat is stale', async () => {
    const database = await postgres().createDatabase();
    const first = await node(database, false);
    await first.close();
    const cluster = await node(database, true);
    await cluster.close();

    // A node killed with -9 leaves its row behind: it counts while fresh and is swept once stale.
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    cleanups.push(() => client.end());
    await client.query(`INSERT INTO parley_nodes (id, host, pid, clustered) VALUES ('killed', 'elsewhere', 1, true)`);
    await expect(node(database, false)).rejects.toThrow(/another Parley node \(elsewhere, pid 1, last heard 0 s ago\)/);
    await client.query(`UPDATE parley_nodes SET seen_at = now() - interval '1 minute' WHERE id = 'killed'`);
    await node(database, false);
    expect((await client.query('SELECT id FROM parley_nodes')).rows.map((row) => row.id)).not.toContain('killed');
  });

  it('reports the database in /healthz: up, then down while PostgreSQL is stopped, then up again', async () => {
    const database = await postgres().createDatabase();
    const cluster = await node(database, true);
    const health = async () => (await fetch(`${cluster.url}/healthz`)).json();
    expect(await health()).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'ok', settings: 'same' });
    await postgres().stop();
    try {
      expect(await health()).toEqual({ ok: true, database: 'down', redis: 'up', cluster: 'ok', settings: 'same' });
    } finally {
      await postgres().restart();
    }
    expect(await health()).toEqual({ ok: true, database: 'up', redis: 'up', cluster: 'ok', settings: 'same' });

    const alone = await node(await postgres().createDatabase(), false);
    expect(await (await fetch(`${alone.url}/healthz`)).json()).toEqual({ ok: true, database: 'up' });
  });
});
