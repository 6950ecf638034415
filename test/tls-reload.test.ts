/**
 * Certificate files renewed by another tool (certbot, say) are read again on SIGHUP: new
 * connections get the new certificate, and the connections already open stay open.
 */
import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect as tlsConnect } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WORLD } from '../src/protocol/index.ts';
import { PASSWORD, waitFor } from './support/clients.ts';
import { spawnTied } from './support/tied.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function certificate(commonName: string) {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
  });
  return { cert: pems.cert, key: pems.private, fingerprint: new X509Certificate(pems.cert).fingerprint256 };
}

/** The fingerprint of the certificate a new TLS connection is given. */
function servedFingerprint(port: number, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('SIGHUP with certificate files', () => {
  it('serves the renewed files to new connections and keeps open connections open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-reload-'));
    dirs.push(dir);
    const [first, second] = [await certificate('first'), await certificate('second')];
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    await writeFile(certFile, first.cert);
    await writeFile(keyFile, first.key);
    const ca = [first.cert, second.cert];

    const child = spawnTied(process.execPath, [BIN, 'serve', '--port', '0', '--data', join(dir, 'data'), '--tls-cert', certFile, '--tls-key', keyFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }, 'SIGKILL');
    children.push(child);
    const logs: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
    await waitFor(() => logs.some((entry) => typeof entry.url === 'string'), 'the server to listen', 30_000);
    const url = logs.find((entry) => typeof entry.url === 'string')!.url as string;
    const port = Number(new URL(url).port);
    expect(await servedFingerprint(port, ca)).toBe(first.fingerprint);

    // A live session over the first certificate.
    const token = await registerWithCa(url, ca);
    const ws = new WebSocket(url.replace('https', 'wss') + '/ws', { ca, headers: { authorization: `Bearer ${token}`, origin: url } });
    const frames: { type: string; [key: string]: unknown }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as { type: string }));
    let closed = false;
    ws.on('close', () => (closed = true));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'hello', protocol: 2 }));
    await waitFor(() => frames.some((frame) => frame.type === 'synced'), 'synced');

    await writeFile(certFile, second.cert);
    await writeFile(keyFile, second.key);
    child.kill('SIGHUP');
    await waitFor(() => logs.some((entry) => entry.fingerprint === second.fingerprint), 'the reload to be logged');
    expect(await servedFingerprint(port, ca)).toBe(second.fingerprint);

    // The session opened before the reload still sends and is acknowledged.
    ws.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: 'after-reload', text: 'still here' }));
    await waitFor(() => frames.some((frame) => frame.type === 'ack' && frame.clientId === 'after-reload'), 'the ack over the old connection');
    expect(closed).toBe(false);
    ws.close();

    // A broken pair is refused and the server goes on with the certificate it has.
    await writeFile(keyFile, first.key);
    child.kill('SIGHUP');
    await waitFor(() => logs.some((entry) => entry.level === 50 && String(entry.msg).startsWith('SIGHUP: could not read')), 'the refusal to be logged');
    expect(await servedFingerprint(port, ca)).toBe(second.fingerprint);
    child.kill('SIGTERM');
  }, 60_000);
});

async function registerWithCa(url: string, ca: string[]): Promise<string> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/register`, { method: 'POST', ca, headers: { 'content-type': 'application/json', origin: url } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve((JSON.parse(text) as { token: string }).token));
    });
    req.once('error', reject);
    req.end(JSON.stringify({ name: 'alice', password: PASSWORD }));
  });
}
