import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ParleyApi } from '../src/client/api.ts';
import { WORLD } from '../src/protocol/index.ts';
import { PASSWORD, waitFor } from './support/clients.ts';

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
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  it('finishes pending commits on SIGTERM, closes sockets with "going away" and exits 0', async () => {
    const dir = await dataDir();
    const { child, url, exited } = await serve(['--data', dir]);
    const { token } = await new ParleyApi(url).register({ name: 'alice', password: PASSWORD });
    const ws = new WebSocket(url.replace('http', 'ws') + '/ws', { headers: { authorization: `Bearer ${token}` } });
    const acked: number[] = [];
    let synced = false;
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === 'ack') acked.push(frame.seq);
      if (frame.type === 'synced') synced = true;
    });
    const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'hello', protocol: 1 }));
    await waitFor(() => synced, 'synced');
    for (let i = 0; i < 20; i++) ws.send(JSON.stringify({ type: 'send', conv: WORLD, clientId: `last-${i}`, text: `last words ${i}` }));
    await waitFor(() => acked.length > 0, 'the first ack');
    child.kill('SIGTERM');
    expect(await closeCode).toBe(1001);
    expect(await exited).toBe(0);

    // Everything acknowledged before the shutdown is there after a restart.
    const again = await serve(['--data', dir]);
    const api = new ParleyApi(again.url);
    await api.login({ name: 'alice', password: PASSWORD });
    const stored = (await api.history(WORLD)).messages.map((m) => m.seq);
    for (const seq of acked) expect(stored).toContain(seq);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });

  it('refuses to serve plain HTTP beyond loopback and says how to fix it', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--host', '0.0.0.0', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/Refusing to serve plain HTTP on 0\.0\.0\.0/);
    expect(stderr).toMatch(/--tls self-signed/);
  });

  it('serves HTTPS and WSS with a self-signed certificate it keeps, and prints its fingerprint', async () => {
    const dir = await dataDir();
    const first = await serve(['--data', dir, '--tls', 'self-signed']);
    expect(first.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const fingerprint = first.logs.find((entry) => typeof entry.fingerprint === 'string')?.fingerprint as string;
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    const { readFile } = await import('node:fs/promises');
    const ca = await readFile(join(dir, 'tls', 'self-signed.crt'), 'utf8');
    const response = await postJson(`${first.url}/api/register`, { name: 'alice', password: PASSWORD }, ca);
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
});

function postJson(url: string, body: unknown, ca: string): Promise<{ token: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
