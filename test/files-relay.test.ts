/**
 * Issue 4's integration check: a 1 GiB file from one `parley` CLI process to another through a
 * real `parley serve` process, with every process's peak memory measured; then an upload
 * killed half-way that resumes without sending the first half again.
 * PARLEY_RELAY_MIB shrinks the file for a quick local run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { FileApi } from '../src/client/files.ts';
import { TokenCache, sessionCachePath } from '../src/cli/token-cache.ts';
import { PASSWORD, waitFor } from './support/clients.ts';
import { startTestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');
const REPORT_RSS = join(import.meta.dirname, 'support', 'report-peak-rss.mjs');
const MIB = 1024 * 1024;
const SIZE = Number(process.env.PARLEY_RELAY_MIB ?? 1024) * MIB;
const PEAK_RSS_LIMIT = 150 * 1000 * 1000;

let dir: string;
let server: { child: ChildProcess; url: string; pid: number };
let source: { path: string; sha256: string };
const children = new Set<ChildProcess>();

/** Random-looking data, fast: one random MiB, each copy stamped with its index. */
async function makeFile(path: string, size: number): Promise<string> {
  const block = randomBytes(MIB);
  const hash = createHash('sha256');
  const out = createWriteStream(path, { highWaterMark: MIB });
  for (let i = 0; i * MIB < size; i++) {
    const chunk = Buffer.from(block.subarray(0, Math.min(MIB, size - i * MIB)));
    chunk.writeUInt32LE(i, 0);
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MIB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A `parley` process whose peak RSS (VmHWM) it reports itself at exit, and we also sample from /proc while it runs. */
function parley(args: string[], user?: string) {
  const child = spawn(process.execPath, ['--import', REPORT_RSS, BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(dir, `home-${user ?? 'server'}`),
      PARLEY_PASSWORD: PASSWORD,
      PARLEY_PEAK_RSS_FILE: join(dir, 'peak-rss'),
      ...(server ? { PARLEY_SERVER: server.url } : {}),
    },
  });
  children.add(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (data) => (stderr += data));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      lines.push({ text: line });
    }
  });
  let sampled = 0;
  const sampler = setInterval(() => readFile(`/proc/${child.pid}/status`, 'utf8').then((status) => {
    sampled = Math.max(sampled, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
  }, () => {}), 100);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      clearInterval(sampler);
      children.delete(child);
      resolve(code);
    }),
  );
  return {
    child,
    lines,
    exited,
    get stderr() {
      return stderr;
    },
    /** Peak RSS in bytes: the process's own report at exit, else the highest sample. */
    async peakRss(): Promise<number> {
      const reported = await readFile(join(dir, `peak-rss.${child.pid}`), 'utf8').then(Number, () => 0);
      return Math.max(reported, sampled);
    },
  };
}

async function startServer(port: number) {
  const run = parley(['serve', '--port', String(port), '--data', join(dir, 'data'), '--log-level', 'info']);
  await waitFor(() => run.lines.some((line) => typeof line.url === 'string'), 'the server to listen', 30_000);
  return { run, url: run.lines.find((line) => typeof line.url === 'string')!.url as string };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Accounts are made, and the CLI's session cache filled, before the measured server starts:
 * its peak memory is then that of serving and relaying files. (Password hashing is measured
 * apart: argon2id takes 19 MiB per hash, and glibc keeps that memory in the arena of each
 * thread-pool thread that hashed, so a few logins alone add up to ~80 MB of RSS.)
 */
async function prepareAccounts(port: number): Promise<void> {
  const setup = await startTestServer({ dataDir: join(dir, 'data') });
  try {
    for (const name of ['alice', 'bob']) {
      const { user, token } = await new ParleyApi(setup.url).register({ name, password: PASSWORD });
      await new TokenCache(sessionCachePath({ XDG_CONFIG_HOME: join(dir, `home-${name}`) })).put(`http://127.0.0.1:${port}`, name, user, token);
    }
  } finally {
    await setup.close();
  }
}

const event = (run: ReturnType<typeof parley>, type: string) => run.lines.find((line) => line.type === type);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-relay-'));
  const port = await freePort();
  const [hash] = await Promise.all([makeFile(join(dir, 'big.bin'), SIZE), prepareAccounts(port)]);
  source = { path: join(dir, 'big.bin'), sha256: hash };
  const started = await startServer(port);
  server = { child: started.run.child, url: started.url, pid: started.run.child.pid! };
  serverRun = started.run;
}, 120_000);

let serverRun: ReturnType<typeof parley>;

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe(`a ${SIZE / MIB} MiB file from one CLI to another through the server`, () => {
  it('arrives with the same SHA-256, and no process ever holds more than 150 MB', async () => {
    const out = join(dir, 'out-1');
    const sender = parley(['send-file', '--user', 'alice', '--to', 'bob', '--json', source.path], 'alice');
    await waitFor(() => event(sender, 'offered') !== undefined || sender.child.exitCode !== null, 'the offer', 60_000);
    expect(event(sender, 'offered'), sender.stderr).toBeDefined();
    const receiver = parley(['receive', '--user', 'bob', '--accept-all', '--out', out, '--json'], 'bob');
    expect(await receiver.exited, receiver.stderr).toBe(0);
    expect(await sender.exited, sender.stderr).toBe(0);

    const received = event(receiver, 'received') as { path: string; bytes: number; sha256: string };
    expect(received).toMatchObject({ bytes: SIZE, sha256: source.sha256 });
    expect(await readdir(out)).toEqual(['big.bin']);
    expect(await sha256Of(received.path)).toBe(source.sha256);
    expect(event(sender, 'sent')).toMatchObject({ bytes: SIZE, resumedAt: 0, sentThisRun: SIZE, sha256: source.sha256 });

    const peaks = { sender: await sender.peakRss(), receiver: await receiver.peakRss() };
    console.log(`peak RSS: sender ${(peaks.sender / 1e6).toFixed(1)} MB, receiver ${(peaks.receiver / 1e6).toFixed(1)} MB`);
    expect(peaks.sender).toBeLessThan(PEAK_RSS_LIMIT);
    expect(peaks.receiver).toBeLessThan(PEAK_RSS_LIMIT);
    await rm(out, { recursive: true });
  }, 180_000);

  it('resumes an upload killed half-way without sending the first half again', async () => {
    const out = join(dir, 'out-2');
    const first = parley(['send-file', '--user', 'alice', '--to', 'bob', '--json', source.path], 'alice');
    await waitFor(() => event(first, 'offered') !== undefined, 'the offer', 60_000);
    const offered = (event(first, 'offered') as { file: { id: string } }).file;
    const receiver = parley(['receive', '--user', 'bob', '--accept-all', '--out', out, '--json'], 'bob');
    const progress = () => first.lines.filter((line) => line.type === 'progress').at(-1) as { done: number } | undefined;
    await waitFor(() => (progress()?.done ?? 0) >= SIZE / 2, 'half of the upload', 60_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const cached = await new TokenCache(sessionCachePath({ XDG_CONFIG_HOME: join(dir, 'home-alice') })).get(server.url, 'alice');
    const alice = new ParleyApi(server.url, { token: cached!.token });
    // The server settles the cut-off request (bytes still in flight land on disk) and records it on the card.
    const files = new FileApi(alice);
    let held = 0;
    for (let tries = 0; held === 0 && tries < 100; tries++) {
      const [offset, card] = await Promise.all([files.uploadOffset(offered.id), files.get(offered.id)]);
      if (offset > 0 && card.received === offset) held = offset;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(held).toBeGreaterThan(SIZE * 0.4);
    expect(held).toBeLessThan(SIZE);

    const second = parley(['send-file', '--user', 'alice', '--to', 'bob', '--json', source.path], 'alice');
    expect(await second.exited, second.stderr).toBe(0);
    expect(event(second, 'resumed')).toMatchObject({ file: { id: offered.id } });
    const sent = event(second, 'sent') as { resumedAt: number; sentThisRun: number };
    expect(sent.resumedAt).toBe(held);
    expect(sent.sentThisRun).toBe(SIZE - held);
    expect(sent.sentThisRun).toBeLessThan(SIZE * 0.6);

    expect(await receiver.exited, receiver.stderr).toBe(0);
    const received = event(receiver, 'received') as { path: string };
    expect(await sha256Of(received.path)).toBe(source.sha256);
    expect((await second.peakRss()) / 1e6).toBeLessThan(PEAK_RSS_LIMIT / 1e6);
  }, 180_000);

  it('kept the server under 150 MB throughout', async () => {
    serverRun.child.kill('SIGTERM');
    expect(await serverRun.exited).toBe(0);
    const peak = await serverRun.peakRss();
    console.log(`peak RSS: server ${(peak / 1e6).toFixed(1)} MB`);
    expect(peak).toBeLessThan(PEAK_RSS_LIMIT);
  }, 30_000);
});
