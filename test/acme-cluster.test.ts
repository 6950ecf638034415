/**
 * `--tls acme` on a cluster, against Pebble (Let's Encrypt's test CA), a private PostgreSQL and a
 * private Redis: the nodes order one certificate, not one each, and serve it all; a challenge
 * opened by one node is answered by another (a CA checks through whichever node the name leads
 * to); a renewal made by one node is taken up by the others at their next check, without an order
 * of their own. Pebble checks challenges through a front door the test points at one node or the
 * other, as DNS or a TCP balancer would.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startParley, type RunningParley } from '../src/server/app.ts';
import { parseConfig } from '../src/server/config.ts';
import { RENEWAL_CHECK_MS } from '../src/server/tls/acme.ts';
import { waitFor } from './support/clients.ts';
import { startFrontDoor } from './support/front-door.ts';
import { ManualClock } from './support/manual-clock.ts';
import { hasPebble, startPebble, type RunningPebble } from './support/pebble.ts';
import { freePort } from './support/ports.ts';
import { hasPostgres, privatePostgres, queryRows } from './support/postgres.ts';
import { hasRedis, privateRedis } from './support/redis.ts';

const required = process.env.CI === 'true';
const runnable = hasPebble && hasPostgres && hasRedis;
if (!runnable && !required) console.warn('\n!! Pebble, PostgreSQL or redis-server is missing: the ACME cluster test is SKIPPED (Debian: apt-get install pebble postgresql redis-server).\n');
const DOMAIN = 'cluster.parley.test';
const DAY = 24 * 3600 * 1000;

describe.skipIf(!runnable && !required)('automatic TLS with ACME on a cluster, against Pebble', () => {
  const postgres = privatePostgres();
  const redis = privateRedis();
  let pebble: RunningPebble;
  /** Where Pebble checks challenges: passes on to the node `target` names. */
  let door: Awaited<ReturnType<typeof startFrontDoor>>;
  let target = 0;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    door = await startFrontDoor(() => target);
    pebble = await startPebble(door.port);
  }, 60_000);

  afterAll(async () => {
    await pebble?.stop();
    await door?.close();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  interface Node {
    parley: RunningParley;
    clock: ManualClock;
    challengePort: number;
  }

  /** A node on `database`, answering challenges on `challengePort` (fixed before it starts, so the door can lead there while it orders). */
  async function node(database: string, challengePort?: number): Promise<Node> {
    challengePort ??= await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-acme-cluster-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const clock = new ManualClock();
    const parley = await startParley(
      parseConfig(
        [
          '--port', '0', '--data', dataDir, '--database', database, '--redis', redis().url,
          '--tls', 'acme', '--tls-domain', DOMAIN, '--acme-email', 'ops@parley.test',
          '--acme-directory', pebble.directory, '--acme-ca', pebble.caFile, '--acme-http-port', String(challengePort),
        ],
        {},
      ),
      { logger: pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }), clock },
    );
    cleanups.push(() => parley.close());
    return { parley, clock, challengePort };
  }

  /** The certificate a browser for DOMAIN is served by a node, trusting Pebble's root only. */
  function served(node: Node): Promise<X509Certificate> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: node.parley.port, servername: DOMAIN, ca: [pebble.root] }, () => {
        const certificate = socket.getPeerX509Certificate()!;
        const authorized = socket.authorized;
        socket.destroy();
        if (!authorized) reject(new Error(`not trusted: ${socket.authorizationError}`));
        else resolve(certificate);
      });
      socket.once('error', reject);
    });
  }

  const rows = queryRows;

  it("orders once for the cluster; another node answers the CA's challenge and the others take up the renewal", async () => {
    const database = await postgres().createDatabase();
    // The first node orders; Pebble checks through the door, at the first node.
    const challengeA = await freePort();
    target = challengeA;
    const a = await node(database, challengeA);
    const first = await served(a);
    expect(first.checkHost(DOMAIN)).toBe(DOMAIN);
    expect(first.fingerprint256).toBe(a.parley.tlsFingerprint);

    // A second node serves the same certificate: it ordered none (a new order has a new key and serial).
    const b = await node(database);
    expect((await served(b)).fingerprint256).toBe(first.fingerprint256);
    expect(b.parley.tlsFingerprint).toBe(first.fingerprint256);

    // The first node renews while the door leads to the second: the CA's check reaches a node that
    // did not open the challenge, which answers it from the database.
    target = b.challengePort;
    await a.clock.advance(Date.parse(first.validTo) - a.clock.now() - 29 * DAY);
    await waitFor(() => a.parley.tlsFingerprint !== first.fingerprint256, 'the renewed certificate on the first node', 30_000);
    const renewed = await served(a);
    expect(renewed.fingerprint256).not.toBe(first.fingerprint256);
    expect(renewed.serialNumber).not.toBe(first.serialNumber);
    // The challenge is closed once checked; a token nobody opened is not found on any node.
    expect(await rows(database, 'SELECT token FROM acme_challenges')).toEqual([]);
    for (const port of [a.challengePort, b.challengePort]) {
      expect((await fetch(`http://127.0.0.1:${port}/.well-known/acme-challenge/${'A'.repeat(43)}`)).status).toBe(404);
    }

    // The second node takes the renewed certificate up at its next check, without ordering one.
    expect((await served(b)).fingerprint256).toBe(first.fingerprint256);
    await b.clock.advance(RENEWAL_CHECK_MS);
    await waitFor(() => b.parley.tlsFingerprint === renewed.fingerprint256, "the first node's renewal on the second node", 30_000);
    expect((await served(b)).fingerprint256).toBe(renewed.fingerprint256);
    const kept = await rows<{ cert_pem: string }>(database, 'SELECT cert_pem FROM acme_certificates');
    expect(kept.map((row) => new X509Certificate(row.cert_pem).fingerprint256)).toEqual([renewed.fingerprint256]);
  }, 120_000);

  it('two nodes starting at once on an empty database order one certificate between them', async () => {
    const database = await postgres().createDatabase();
    // Whichever node orders, the check reaches one node that may not be it.
    const ports = [await freePort(), await freePort()];
    target = ports[0]!;
    const starts = ports.map((challengePort) => node(database, challengePort));
    const [one, two] = await Promise.all(starts);
    expect(one!.parley.tlsFingerprint).not.toBeNull();
    expect(two!.parley.tlsFingerprint).toBe(one!.parley.tlsFingerprint);
    expect((await served(two!)).fingerprint256).toBe(one!.parley.tlsFingerprint);
    expect(await rows(database, 'SELECT name FROM acme_certificates')).toEqual([{ name: DOMAIN }]);
    expect(await rows(database, 'SELECT count(*)::int AS accounts FROM acme_accounts')).toEqual([{ accounts: 1 }]);
  }, 120_000);
});
