import { execFile, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect as tlsConnect } from 'node:tls';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startParley, type RunningParley } from '../src/server/app.ts';
import { parseConfig } from '../src/server/config.ts';
import type { Machine } from '../src/server/tls/machine-names.ts';
import { PASSWORD } from './support/clients.ts';
import { rawRequest } from './support/http.ts';
import { ManualClock } from './support/manual-clock.ts';
import { spawnTied } from './support/tied.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];
let parley: RunningParley | undefined;
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await parley?.close();
  parley = undefined;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-tls-'));
  dirs.push(dir);
  return dir;
}

/** `parley serve` in its own process, as the README starts it; resolves with its port. */
async function serve(dataDir: string, flags: string[]): Promise<number> {
  const child = spawnTied(process.execPath, [BIN, 'serve', '--port', '0', '--data', dataDir, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const url = (JSON.parse(line) as { url?: string }).url;
      if (url) resolve(Number(new URL(url).port));
    });
    child.once('exit', (code) => reject(new Error(`parley serve exited with ${code}`)));
  });
}

/** The CLI as the README runs it: trusting the certificate file through NODE_EXTRA_CA_CERTS. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, PARLEY_PASSWORD: PASSWORD, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function peerCertificate(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('the self-signed certificate', () => {
  it('follows the README: --host 0.0.0.0 --tls self-signed, then the CLI with NODE_EXTRA_CA_CERTS connects by IP address', async () => {
    const data = await tempDir();
    const port = await serve(data, ['--host', '0.0.0.0', '--tls', 'self-signed']);
    const trust = { NODE_EXTRA_CA_CERTS: join(data, 'tls', 'self-signed.crt'), XDG_CONFIG_HOME: await tempDir() };
    for (const [address, user] of [['127.0.0.1', 'by-address'], ['localhost', 'by-name']] as const) {
      const registered = await cli(['register', '--server', `https://${address}:${port}`, '--user', user], trust);
      expect([address, registered.code, registered.stderr]).toEqual([address, 0, '']);
    }
    const sent = await cli(['send', '--server', `https://127.0.0.1:${port}`, '--user', 'by-address', '--to', 'world', 'over TLS by address'], trust);
    expect([sent.code, sent.stderr]).toEqual([0, '']);

    // Every address of the machine's interfaces and its host name, so the LAN can connect by them too.
    const cert = new X509Certificate(await readFile(trust.NODE_EXTRA_CA_CERTS, 'utf8'));
    const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((info) => info.address));
    for (const address of addresses.filter((address) => !address.startsWith('fe80:'))) expect([address, cert.checkIP(address)]).toEqual([address, address]);
    expect(cert.checkHost(hostname())).toBe(hostname().toLowerCase());
    // Without the certificate trusted, the same command is refused.
    const untrusted = await cli(['register', '--server', `https://127.0.0.1:${port}`, '--user', 'mallory'], { XDG_CONFIG_HOME: trust.XDG_CONFIG_HOME });
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/^parley: cannot reach https:\/\/127\.0\.0\.1:\d+ \(.*certificate.*\)\. .*NODE_EXTRA_CA_CERTS/);
  });

  it('takes more names from --tls-name, and serves them as host names', async () => {
    const data = await tempDir();
    const port = await serve(data, ['--host', '0.0.0.0', '--tls', 'self-signed', '--tls-name', 'parley.test,127.0.0.2']);
    const ca = await readFile(join(data, 'tls', 'self-signed.crt'), 'utf8');
    const cert = new X509Certificate(ca);
    expect([cert.checkHost('parley.test'), cert.checkIP('127.0.0.2')]).toEqual(['parley.test', '127.0.0.2']);
    const byExtraAddress = await cli(['register', '--server', `https://127.0.0.2:${port}`, '--user', 'zed'], {
      NODE_EXTRA_CA_CERTS: join(data, 'tls', 'self-signed.crt'),
      XDG_CONFIG_HOME: await tempDir(),
    });
    expect([byExtraAddress.code, byExtraAddress.stderr]).toEqual([0, '']);
    const url = `https://127.0.0.1:${port}`;
    expect((await rawRequest(url, { path: '/healthz', ca, headers: { host: `parley.test:${port}` } })).status).toBe(200);
    expect((await rawRequest(url, { path: '/healthz', ca, headers: { host: `other.test:${port}` } })).status).toBe(421);
  });

  it('is made again, and served, when the machine gets an address it lacks; not otherwise', async () => {
    const data = await tempDir();
    let addresses = ['192.0.2.10'];
    const machine: Machine = {
      interfaces: () => ({ lo: [{ address: '127.0.0.1' }], eth0: addresses.map((address) => ({ address })) }),
      hostname: () => 'classroom-laptop',
    };
    const clock = new ManualClock();
    const config = parseConfig(['--host', '0.0.0.0', '--port', '0', '--data', data, '--tls', 'self-signed'], {});
    parley = await startParley(config, { logger: pino({ level: 'silent' }), clock, machine });
    const ca = () => readFile(join(data, 'tls', 'self-signed.crt'), 'utf8');
    const first = parley.tlsFingerprint;
    expect(new X509Certificate(await ca()).checkHost('classroom-laptop.local')).toBe('classroom-laptop.local');

    await clock.advance(60_000);
    expect(parley.tlsFingerprint).toBe(first);

    addresses = ['192.0.2.10', '198.51.100.23'];
    await clock.advance(60_000);
    const renewed = parley.tlsFingerprint;
    expect(renewed).not.toBe(first);
    const cert = new X509Certificate(await ca());
    expect([cert.checkIP('198.51.100.23'), cert.checkIP('192.0.2.10'), cert.fingerprint256]).toEqual(['198.51.100.23', '192.0.2.10', renewed]);
    expect(await peerCertificate(parley.port, await ca())).toBe(renewed);
  });
});
