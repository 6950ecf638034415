/**
 * Issue 4's integration check: a file from one `parley` CLI process to another through a real
 * `parley serve` process, with every process's peak memory measured; then an upload killed
 * half-way that resumes without sending the first half again.
 *
 * 128 MiB by default; PARLEY_FULL_TESTS=1 (CI, when its time allows) sends the full 1 GiB, and
 * PARLEY_RELAY_MIB any size. At 1 GiB (and above) every process stays under the documented
 * 150 MB. A smaller file checks what a bound can mean at its size: no process grows by half the
 * file (at least 64 MB) above an idle `parley serve` (about 100 MB), so one that held the file
 * fails. Relaying measures 134-142 MB here (153 MB once on a starved machine, load 18 on 2
 * cores, as the collector falls behind), whatever the size; a CLI that held the file measured
 * 172 MB at 64 MiB, only 5 MB over a bound of idle + size: hence 128 MiB and half of it, which
 * leaves room on both sides (a limit of 167 MB; a CLI that held the file measured 252 MB at 128 MiB).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { FileApi } from '../src/client/files.ts';
import { TokenCache, sessionCachePath } from '../src/cli/token-cache.ts';
import { PASSWORD, waitFor } from './support/clients.ts';
import { startHoldingProxy } from './support/proxy.ts';
import { startTestServer } from './support/server.ts';
import { spawnTied } from './support/tied.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');
const REPORT_RSS = join(import.meta.dirname, 'support', 'report-peak-rss.mjs');
const MIB = 1024 * 1024;
const SIZE = Number(process.env.PARLEY_RELAY_MIB ?? (process.env.PARLEY_FULL_TESTS === '1' ? 1024 : 128)) * MIB;
const FULL_SIZE = SIZE >= 1024 * MIB;
/** An idle `parley serve` or CLI process run from the sources (VmRSS, measured on this machine: 101 MB). */
const IDLE_RSS = 100 * 1000 * 1000;
const PEAK_RSS_LIMIT = FULL_SIZE ? 150 * 1000 * 1000 : IDLE_RSS + Math.max(SIZE / 2, 64 * 1000 * 1000);

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
  const child = spawnTied(process.execPath, ['--import', REPORT_RSS, BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(dir, `home-${user ?? 'server'}`),
      PARLEY_PASSWORD: PASSWORD,
      PARLEY_PEAK_RSS_FILE: join(dir, 'peak-rss'),
      ...(server ? { PARLEY_SERVER: server.url } : {}),
    },
  }, 'SIGKILL');
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
    /** Peak RSS in bytes: the process's own report at exit, else its high-water mark so far. */
    async peakRss(): Promise<number> {
      const reported = await readFile(join(dir, `peak-rss.${child.pid}`), 'utf8').then(Number, () => 0);
      const now = await readFile(`/proc/${child.pid}/status`, 'utf8').then((status) => Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024, () => 0);
      return Math.max(reported, sampled, now);
    },
  };
}

async function startServer() {
  const run = parley(['serve', '--port', '0', '--data', join(dir, 'data'), '--log-level', 'info']);
  await waitFor(() => run.lines.some((line) => typeof line.url === 'string'), 'the server to listen', 30_000);
  return { run, url: run.lines.find((line) => typeof line.url === 'string')!.url as string };
}

/**
 * Accounts are made before the measured server starts: its peak memory is then that of serving
 * and relaying files. (Password hashing is measured apart: argon2id takes 19 MiB per hash, and
 * glibc keeps that memory in the arena of each thread-pool thread that hashed, so a few logins
 * alone add up to ~80 MB of RSS.) The CLI's session cache is filled once the server's address
 * is known.
 */
async function prepareAccounts() {
  const setup = await startTestServer({ dataDir: join(dir, 'data') });
  try {
    const sessions = [];
    for (const name of ['alice', 'bob']) sessions.push({ name, ...(await new ParleyApi(setup.url).register({ name, password: PASSWORD })) });
    return sessions;
  } finally {
    await setup.close();
  }
}

const event = (run: ReturnType<typeof parley>, type: string) => run.lines.find((line) => line.type === type);

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parley-relay-'));
  const [hash, sessions] = await Promise.all([makeFile(join(dir, 'big.bin'), SIZE), prepareAccounts()]);
  source = { path: join(dir, 'big.bin'), sha256: hash };
  const started = await startServer();
  server = { child: started.run.child, url: started.url, pid: started.run.child.pid! };
  serverRun = started.run;
  accounts = sessions;
  for (const { name, user, token } of sessions) {
    await new TokenCache(sessionCachePath({ XDG_CONFIG_HOME: join(dir, `home-${name}`) })).put(server.url, name, user, token);
  }
}, 120_000);

let serverRun: ReturnType<typeof parley>;
let accounts: Awaited<ReturnType<typeof prepareAccounts>>;
const relays: { close(): Promise<void> }[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const relay of relays) await relay.close();
  await rm(dir, { recursive: true, force: true });
});

describe(`a ${SIZE / MIB} MiB file from one CLI to another through a parley serve process`, () => {
  it(`arrives with the same SHA-256, and no process (sender, receiver, server) holds the file: ${FULL_SIZE ? 'each under 150 MB' : 'none grows by half its size'}`, async () => {
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

    const peaks = { sender: await sender.peakRss(), receiver: await receiver.peakRss(), server: await serverRun.peakRss() };
    console.log(`peak RSS: sender ${(peaks.sender / 1e6).toFixed(1)} MB, receiver ${(peaks.receiver / 1e6).toFixed(1)} MB, server ${(peaks.server / 1e6).toFixed(1)} MB`);
    expect(peaks.sender).toBeLessThan(PEAK_RSS_LIMIT);
    expect(peaks.receiver).toBeLessThan(PEAK_RSS_LIMIT);
    expect(peaks.server).toBeLessThan(PEAK_RSS_LIMIT);
    await rm(out, { recursive: true });
  }, 180_000);

  it('resumes an upload killed half-way without sending the first half again, within the same memory bound', async () => {
    const out = join(dir, 'out-2');
    // The first run goes through a relay that stops passing its bytes on after half the file, so
    // it is killed half-way whatever the speed of the machine.
    const relay = await startHoldingProxy(() => Number(new URL(server.url).port));
    relays.push(relay);
    const alice = accounts.find((account) => account.name === 'alice')!;
    await new TokenCache(sessionCachePath({ XDG_CONFIG_HOME: join(dir, 'home-alice') })).put(relay.url, 'alice', alice.user, alice.token);
    // (A little over half: the count includes the headers of the requests on that connection.)
    relay.holdAfter(SIZE / 2 + 64 * 1024);
    const first = parley(['send-file', '--user', 'alice', '--server', relay.url, '--to', 'bob', '--json', source.path], 'alice');
    await waitFor(() => event(first, 'offered') !== undefined || first.child.exitCode !== null, 'the offer', 60_000);
    const offered = (event(first, 'offered') as { file: { id: string } }).file;
    const receiver = parley(['receive', '--user', 'bob', '--accept-all', '--out', out, '--json'], 'bob');
    await waitFor(() => relay.holding, 'the upload to be held half-way', 60_000);
    // The server has written the first half (all the relay passed on) when the sender is killed.
    // Watched on its disk: asking the server (HEAD) would take the upload over from the running request.
    const part = join(dir, 'data', 'files', `${offered.id}.part`);
    await until(async () => ((await stat(part).catch(() => null))?.size ?? 0) >= SIZE / 2, 'the first half on the server\'s disk');
    first.child.kill('SIGKILL');
    await first.exited;
    // What reached the relay before the kill goes on to the server, then the end of the request.
    relay.release();

    // The server settles the cut-off request (bytes still in flight land on disk) and records it on the card.
    const files = new FileApi(new ParleyApi(server.url, { token: alice.token }));
    let held = 0;
    for (let tries = 0; held === 0 && tries < 100; tries++) {
      const [offset, card] = await Promise.all([files.uploadOffset(offered.id), files.get(offered.id)]);
      if (offset > 0 && card.received === offset) held = offset;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(held).toBeGreaterThanOrEqual(SIZE / 2);
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
    console.log(`peak RSS after the resume: sender ${((await second.peakRss()) / 1e6).toFixed(1)} MB, server ${((await serverRun.peakRss()) / 1e6).toFixed(1)} MB`);
    expect((await second.peakRss()) / 1e6).toBeLessThan(PEAK_RSS_LIMIT / 1e6);
    expect((await serverRun.peakRss()) / 1e6).toBeLessThan(PEAK_RSS_LIMIT / 1e6);
  }, 180_000);
});
