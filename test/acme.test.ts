/**
 * `--tls acme` against Pebble, Let's Encrypt's own test CA (Debian package pebble, installed by
 * .ci/run): a certificate is issued through the HTTP-01 challenge, served, kept across a restart,
 * and renewed when it comes due, without dropping a connection. pebble-challtestsrv answers
 * Pebble's DNS queries with 127.0.0.1, so the test domain leads back to this machine.
 */
import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import pino from 'pino';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startParley, type RunningParley } from '../src/server/app.ts';
import { parseConfig } from '../src/server/config.ts';
import { waitFor } from './support/clients.ts';
import { ManualClock } from './support/manual-clock.ts';
import { spawnTied } from './support/tied.ts';

const hasPebble = existsSync('/usr/bin/pebble') && existsSync('/usr/bin/pebble-challtestsrv');
/** CI installs Pebble (.ci/run): there a missing one is a failure, elsewhere a skip with a warning. */
const required = process.env.CI === 'true';
if (!hasPebble && !required) console.warn('\n!! /usr/bin/pebble is missing: the ACME test is SKIPPED (Debian: apt-get install pebble).\n');
const DOMAIN = 'chat.parley.test';
const DAY = 24 * 3600 * 1000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve(text));
    })
      .once('error', reject)
      .end();
  });
}

/** A TLS connection to Parley as a browser for DOMAIN makes it, trusting Pebble's root only. */
function open(port: number, root: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: DOMAIN, ca: [root] }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe.skipIf(!hasPebble && !required)('automatic TLS with ACME, against Pebble', () => {
  const children: ChildProcess[] = [];
  let dir: string;
  let directory: string;
  let pebbleCa: string;
  let root: string;
  let challengePort: number;

  beforeAll(async () => {
    if (!hasPebble) throw new Error('Pebble is missing (/usr/bin/pebble, /usr/bin/pebble-challtestsrv): .ci/run installs the Debian package pebble');
    dir = await mkdtemp(join(tmpdir(), 'parley-acme-'));
    const [acmePort, managementPort, dnsPort, challtestManagement] = [await freePort(), await freePort(), await freePort(), await freePort()];
    challengePort = await freePort();
    // Pebble serves its own API over HTTPS: a certificate for it, which Parley is told to trust (--acme-ca).
    const pems = await generate([{ name: 'commonName', value: 'pebble' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
    });
    pebbleCa = join(dir, 'pebble.crt');
    await writeFile(pebbleCa, pems.cert);
    await writeFile(join(dir, 'pebble.key'), pems.private);
    await writeFile(
      join(dir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: pebbleCa,
          privateKey: join(dir, 'pebble.key'),
          httpPort: challengePort,
          tlsPort: await freePort(),
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    const dns = spawnTied(
      '/usr/bin/pebble-challtestsrv',
      ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challtestManagement}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''],
      { stdio: 'ignore' },
      'SIGTERM',
    );
    children.push(dns);
    // No random nonce rejections and no validation delays: the test checks Parley, not retries.
    const pebble = spawnTied('/usr/bin/pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
      stdio: 'ignore',
    }, 'SIGTERM');
    children.push(pebble);
    directory = `https://127.0.0.1:${acmePort}/dir`;
    let up = false;
    await waitFor(() => {
      if (!up) void get(directory, pems.cert).then(() => (up = true), () => {});
      return up;
    }, 'Pebble to answer', 20_000);
    root = await get(`https://127.0.0.1:${managementPort}/roots/0`, pems.cert);
    expect(root).toContain('BEGIN CERTIFICATE');
  }, 60_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const start = (dataDir: string, clock: ManualClock) =>
    startParley(
      parseConfig(
        ['--port', '0', '--data', dataDir, '--tls', 'acme', '--tls-domain', DOMAIN, '--acme-email', 'ops@parley.test', '--acme-directory', directory, '--acme-ca', pebbleCa, '--acme-http-port', String(challengePort)],
        {},
      ),
      { logger: pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }), clock },
    );

  it('gets a certificate through HTTP-01, serves it, keeps it across a restart and renews it when due without dropping a connection', async () => {
    const dataDir = join(dir, 'data');
    const clock = new ManualClock();
    let parley: RunningParley | undefined = await start(dataDir, clock);
    try {
      const first = await open(parley.port, root);
      const issued = first.getPeerX509Certificate()!;
      expect(issued.checkHost(DOMAIN)).toBe(DOMAIN);
      expect(first.authorized).toBe(true);
      expect(issued.fingerprint256).toBe(parley.tlsFingerprint);
      // The challenge port sends everything else on to HTTPS.
      const redirect = await fetch(`http://127.0.0.1:${challengePort}/c/world`, { redirect: 'manual', headers: { host: DOMAIN } });
      expect(redirect.status).toBe(308);
      expect(redirect.headers.get('location')).toBe(`https://${DOMAIN}:${parley.port}/c/world`);
      first.destroy();

      // A restart uses the kept certificate: Pebble is not asked again.
      await parley.close();
      parley = await start(dataDir, clock);
      expect(parley.tlsFingerprint).toBe(issued.fingerprint256);

      // 30 days before it ends, the next check renews it; the open connection stays open.
      const open1 = await open(parley.port, root);
      let dropped = false;
      open1.once('close', () => (dropped = true));
      await clock.advance(Date.parse(issued.validTo) - clock.now() - 29 * DAY);
      await waitFor(() => parley!.tlsFingerprint !== issued.fingerprint256, 'the renewed certificate', 30_000);
      const second = await open(parley.port, root);
      const renewed = second.getPeerX509Certificate()!;
      second.destroy();
      expect(renewed.fingerprint256).not.toBe(issued.fingerprint256);
      expect(renewed.checkHost(DOMAIN)).toBe(DOMAIN);
      expect(new X509Certificate(renewed.raw).serialNumber).not.toBe(issued.serialNumber);
      expect(dropped).toBe(false);
      expect(open1.getPeerX509Certificate()!.fingerprint256).toBe(issued.fingerprint256);
      open1.destroy();
    } finally {
      await parley?.close();
    }
  }, 120_000);
});
