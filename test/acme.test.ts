/**
 * `--tls acme` against Pebble, Let's Encrypt's own test CA (Debian package pebble, installed by
 * .ci/run): a certificate is issued through the HTTP-01 challenge, served, kept across a restart,
 * and renewed when it comes due, without dropping a connection. pebble-challtestsrv answers
 * Pebble's DNS queries with 127.0.0.1, so the test domain leads back to this machine.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import { hasPebble, startPebble, type RunningPebble } from './support/pebble.ts';
import { freePort } from './support/ports.ts';

/** CI installs Pebble (.ci/run): there a missing one is a failure, elsewhere a skip with a warning. */
const required = process.env.CI === 'true';
if (!hasPebble && !required) console.warn('\n!! /usr/bin/pebble is missing: the ACME test is SKIPPED (Debian: apt-get install pebble).\n');
const DOMAIN = 'chat.parley.test';
const DAY = 24 * 3600 * 1000;

/** A TLS connection to Parley as a browser for DOMAIN makes it, trusting Pebble's root only. */
function open(port: number, root: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: DOMAIN, ca: [root] }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe.skipIf(!hasPebble && !required)('automatic TLS with ACME, against Pebble', () => {
  let dir: string;
  let pebble: RunningPebble;
  let directory: string;
  let pebbleCa: string;
  let root: string;
  let challengePort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-acme-'));
    challengePort = await freePort();
    pebble = await startPebble(challengePort);
    ({ directory, caFile: pebbleCa, root } = pebble);
  }, 60_000);

  afterAll(async () => {
    await pebble?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const start = (dataDir: string, clock: ManualClock, directoryUrl = directory) =>
    startParley(
      parseConfig(
        ['--port', '0', '--data', dataDir, '--tls', 'acme', '--tls-domain', DOMAIN, '--acme-email', 'ops@parley.test', '--acme-directory', directoryUrl, '--acme-ca', pebbleCa, '--acme-http-port', String(challengePort)],
        {},
      ),
      { logger: pino({ level: process.env.PARLEY_TEST_LOG ?? 'silent' }), clock },
    );

  it('gets a certificate through HTTP-01, serves it, keeps it across a restart, renews it when due without dropping a connection, orders anew when the kept key does not match, and serves only a certificate of the CA it is set to use', async () => {
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

      // A kept key that no longer matches its certificate (a half-restored folder) is not served: a new certificate is ordered.
      await parley.close();
      await writeFile(join(dataDir, 'acme', `${DOMAIN}.key`), (await generate([{ name: 'commonName', value: 'other' }], { keySize: 2048 })).private);
      // Today's clock: the kept certificate is far from due, so only its key can make it unusable.
      parley = await start(dataDir, new ManualClock());
      const replaced = await open(parley.port, root);
      const served = replaced.getPeerX509Certificate()!;
      const trusted = replaced.authorized;
      replaced.destroy();
      expect(trusted).toBe(true);
      expect(served.fingerprint256).not.toBe(renewed.fingerprint256);
      expect(parley.tlsFingerprint).toBe(served.fingerprint256);

      // Another CA (as Let's Encrypt's production one after its staging one; here the same Pebble by
      // another name): the certificate kept from the first is not served, the new CA's is.
      await parley.close();
      parley = await start(dataDir, new ManualClock(), directory.replace('127.0.0.1', 'localhost'));
      expect(parley.tlsFingerprint).not.toBe(served.fingerprint256);
      // And back: the kept certificate is the other CA's now, so the first one orders again.
      const fromOther = parley.tlsFingerprint;
      await parley.close();
      parley = await start(dataDir, new ManualClock());
      expect([served.fingerprint256, fromOther]).not.toContain(parley.tlsFingerprint);
    } finally {
      await parley?.close();
    }
  }, 120_000);
});
