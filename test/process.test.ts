import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { generate } from 'selfsigned';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ParleyApi } from '../src/client/api.ts';
import { WORLD } from '../src/protocol/index.ts';
import type { Message } from '../src/protocol/index.ts';
import { PASSWORD, rawSocket, waitFor } from './support/clients.ts';
import { spawnTied } from './support/tied.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function dataDir() {
  const dir = await mkdtemp(join(tmpdir(), 'parley-process-'));
  dirs.push(dir);
  return dir;
}

/** Runs `parley serve` as its own process and waits for the line that says where it listens. */
async function serve(args: string[]) {
  const child = spawnTied(process.execPath, [BIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (typeof entry.url === 'string') resolve(entry.url);
    });
    void exited.then((code) => reject(new Error(`parley exited with ${code}`)));
  });
  return { child, url, logs, exited };
}

describe('the parley serve process', () => {
  it('on SIGTERM stores no send it does not acknowledge: the last batch is acked and fanned out before 1001, then it exits 0', async () => {
    const dir = await dataDir();
    const { child, url, exited } = await serve(['--data', dir, '--send-rate', '100000', '--send-burst', '100000']);
    const [alice, bob] = await Promise.all(['alice', 'bob'].map((name) => new ParleyApi(url).register({ name, password: PASSWORD })));
    const greeted = async (token: string) => {
      const socket = await rawSocket(url, token);
      socket.send(JSON.stringify({ type: 'hello', protocol: 1 }));
      await socket.next('synced');
      return socket;
    };
    const sender = await greeted(alice!.token);
    const watcher = await greeted(bob!.token);

    // alice keeps sending until her socket closes, so sends are in flight whenever the signal lands.
    let sent = 0;
    const pump = setInterval(() => {
      if (sender.ws.readyState !== WebSocket.OPEN) return clearInterval(pump);
      for (let i = 0; i < 20; i++, sent++) sender.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: `last-${sent}`, text: `last words ${sent}` }));
    }, 1);
    await waitFor(() => sender.frames.filter((frame) => frame.type === 'ack').length >= 100, 'the first 100 acks');
    child.kill('SIGTERM');
    // (How /healthz and new handshakes answer during the shutdown: gateway.test, "shutting down".)
    expect((await sender.closed).code).toBe(1001);
    expect((await watcher.closed).code).toBe(1001);
    expect(await exited).toBe(0);

    const acked = new Map(sender.frames.flatMap((frame) => (frame.type === 'ack' ? [[frame.clientId, frame.seq] as const] : [])));
    const refused = sender.frames.flatMap((frame) => (frame.type === 'error' ? [frame] : []));
    // A send read during the shutdown is refused as such (the client sends it again after reconnecting).
    for (const error of refused) expect(error).toMatchObject({ code: 'SHUTTING_DOWN', clientId: expect.stringMatching(/^last-/) });

    const again = await serve(['--data', dir]);
    const api = new ParleyApi(again.url);
    await api.login({ name: 'alice', password: PASSWORD });
    const stored = new Map((await everyMessage(api, WORLD)).map((message) => [message.clientId, message.seq] as const));
    clearInterval(pump);
    console.log(`SIGTERM after 100 acks: ${acked.size} of ${sent} sends acknowledged, ${refused.length} refused, ${stored.size} stored`);
    expect(acked.size).toBeGreaterThan(0);
    // Exactly what was acknowledged is stored, at the acknowledged place; nothing else is.
    expect(stored).toEqual(acked);
    // And everything stored reached the other connected user before the close.
    const fannedOut = watcher.frames.flatMap((frame) => (frame.type === 'message' ? [frame.message.seq] : []));
    expect(fannedOut).toEqual([...stored.values()].sort((x, y) => x - y));
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('refuses to serve plain HTTP beyond loopback and says how to fix it', async () => {
    const child = spawnTied(process.execPath, [BIN, 'serve', '--host', '0.0.0.0', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/Refusing to serve plain HTTP on 0\.0\.0\.0/);
    expect(stderr).toMatch(/--tls self-signed/);
  });

  it('serves HTTPS and WSS with a self-signed certificate it keeps, prints its fingerprint, and sends no HSTS', async () => {
    const dir = await dataDir();
    const first = await serve(['--data', dir, '--tls', 'self-signed']);
    expect(first.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const fingerprint = first.logs.find((entry) => typeof entry.fingerprint === 'string')?.fingerprint as string;
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    const { readFile } = await import('node:fs/promises');
    const ca = await readFile(join(dir, 'tls', 'self-signed.crt'), 'utf8');
    const response = await postJson(`${first.url}/api/register`, { name: 'alice', password: PASSWORD }, ca);
    // No HSTS with a certificate browsers do not trust: it would turn their warning page into a dead end.
    expect(response.hsts).toBeUndefined();
    const ws = new WebSocket(first.url.replace('https', 'wss') + '/ws', { ca, headers: { authorization: `Bearer ${response.token}` } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.close();
    // Without trusting the certificate, a client refuses the connection.
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();
    first.child.kill('SIGTERM');
    await first.exited;

    const second = await serve(['--data', dir, '--tls', 'self-signed']);
    expect(second.logs.find((entry) => typeof entry.fingerprint === 'string')?.fingerprint).toBe(fingerprint);
  });

  it('serves HTTPS and WSS with the certificate and key given by --tls-cert and --tls-key, prints their fingerprint, marks the session cookie Secure and sends HSTS', async () => {
    const dir = await dataDir();
    // A certificate made here, not by Parley, for the address the test connects to.
    const pems = await generate([{ name: 'commonName', value: 'parley-test' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    await writeFile(join(dir, 'cert.pem'), pems.cert);
    await writeFile(join(dir, 'key.pem'), pems.private, { mode: 0o600 });
    const run = await serve(['--data', join(dir, 'data'), '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
    expect(run.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(run.logs.find((entry) => typeof entry.fingerprint === 'string')?.fingerprint).toBe(new X509Certificate(pems.cert).fingerprint256);
    const registered = await postJson(`${run.url}/api/register`, { name: 'alice', password: PASSWORD }, pems.cert);
    expect(registered.cookies.find((cookie) => cookie.startsWith('parley_session='))).toMatch(/; Max-Age=2592000; Secure$/);
    // A certificate browsers trust: they are told to use HTTPS only, for a year (docs/SECURITY.md).
    expect(registered.hsts).toBe('max-age=31536000');
    const ws = new WebSocket(run.url.replace('https', 'wss') + '/ws', { ca: pems.cert, headers: { authorization: `Bearer ${registered.token}` } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.close();
    await expect(fetch(`${run.url}/healthz`)).rejects.toThrow();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});

function postJson(url: string, body: unknown, ca: string): Promise<{ token: string; cookies: string[]; hsts: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ ...(JSON.parse(text) as { token: string }), cookies: res.headers['set-cookie'] ?? [], hsts: res.headers['strict-transport-security'] }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Every message of a conversation, oldest first, paging back through the history. */
async function everyMessage(api: ParleyApi, conv: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let before: number | undefined; ; ) {
    const page = await api.history(conv, { limit: 100, ...(before === undefined ? {} : { before }) });
    all.unshift(...page.messages);
    if (!page.hasMore || page.messages.length === 0) return all;
    before = page.messages[0]!.seq;
  }
}
