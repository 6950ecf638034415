/**
 * Pebble, Let's Encrypt's own test CA (Debian package pebble, installed by .ci/run), for the ACME
 * tests: its directory over HTTPS with a certificate made here, and pebble-challtestsrv answering
 * its DNS queries with 127.0.0.1, so every test domain leads back to this machine. Pebble checks
 * HTTP-01 challenges on `httpPort` of 127.0.0.1.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { waitFor } from './clients.ts';
import { spawnTied } from './tied.ts';
import { freePort } from './ports.ts';

export const hasPebble = existsSync('/usr/bin/pebble') && existsSync('/usr/bin/pebble-challtestsrv');

export interface RunningPebble {
  /** The ACME directory URL (`--acme-directory`). */
  directory: string;
  /** The certificate of Pebble's own HTTPS, to trust for the directory (`--acme-ca`). */
  caFile: string;
  /** The root Pebble issues under, in PEM: what a browser would trust. */
  root: string;
  stop(): Promise<void>;
}

/** GET over HTTPS, trusting `ca`. */
export function getText(url: string, ca: string): Promise<string> {
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

/**
 * Starts Pebble checking HTTP-01 challenges on `httpPort`. Its other ports are picked free just
 * before it binds them, so another process may take one meanwhile: a Pebble that does not come up
 * is started again on new ports (three attempts), and the last attempt's output is in the error.
 */
export async function startPebble(httpPort: number): Promise<RunningPebble> {
  if (!hasPebble) throw new Error('Pebble is missing (/usr/bin/pebble, /usr/bin/pebble-challtestsrv): .ci/run installs the Debian package pebble');
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPebbleOnce(httpPort);
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

async function startPebbleOnce(httpPort: number): Promise<RunningPebble> {
  let output = '';
  const dir = await mkdtemp(join(tmpdir(), 'parley-pebble-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [acmePort, managementPort, dnsPort, challtestManagement, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    // Pebble serves its own API over HTTPS: a certificate for it, which Parley is told to trust (--acme-ca).
    const pems = await generate([{ name: 'commonName', value: 'pebble' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
    });
    const caFile = join(dir, 'pebble.crt');
    await writeFile(caFile, pems.cert);
    await writeFile(join(dir, 'pebble.key'), pems.private);
    await writeFile(
      join(dir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: caFile,
          privateKey: join(dir, 'pebble.key'),
          httpPort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    children.push(
      spawnTied(
        '/usr/bin/pebble-challtestsrv',
        ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challtestManagement}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''],
        { stdio: 'ignore' },
        'SIGTERM',
      ),
    );
    // No random nonce rejections, no validation delays, and no authorization reused from an earlier
    // order (each order is checked afresh): the tests check Parley, not retries.
    children.push(
      spawnTied('/usr/bin/pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
        env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }, 'SIGTERM'),
    );
    for (const stream of [children.at(-1)!.stdout!, children.at(-1)!.stderr!]) stream.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    const directory = `https://127.0.0.1:${acmePort}/dir`;
    let up = false;
    await waitFor(() => {
      if (!up) void getText(directory, pems.cert).then(() => (up = true), () => {});
      return up;
    }, 'Pebble to answer', 20_000);
    const root = await getText(`https://127.0.0.1:${managementPort}/roots/0`, pems.cert);
    if (!root.includes('BEGIN CERTIFICATE')) throw new Error(`Pebble's root is not a certificate: ${root.slice(0, 200)}`);
    return { directory, caFile, root, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; Pebble said: ${output || '(nothing)'}`, { cause: error });
  }
}
