/**
 * File relay throughput: a file (1 GiB by default) through a real `parley serve` process —
 * upload (the server hashes and writes it), then download (the client hashes and writes it) —
 * next to raw TCP over loopback in the same run, the ceiling of this machine.
 *
 *   npx tsx bench/file-relay.ts [--mib 1024] [--rounds 2] [--json out.json]
 *
 * Results: docs/PERFORMANCE.md, "File relay". The client side runs in this process, the
 * server in its own, so each has a core as on a real pair of machines sharing one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ParleyApi } from '../src/client/api.ts';
import { FileApi } from '../src/client/files.ts';
import { downloadFile, hashFile, uploadFile } from '../src/client/node-files.ts';
import { dmId } from '../src/protocol/index.ts';

const MIB = 1024 * 1024;
const REPO = join(import.meta.dirname, '..');

export interface FileRelayResult {
  bytes: number;
  /** MB/s (10^6 bytes per second), best of the rounds. */
  rawTcp: number;
  upload: number;
  download: number;
  /** Upload then download, back to back: what a person waits after accepting. */
  relay: number;
  /** Hashing the file before offering it (the sender's first step). */
  senderHash: number;
  serverPeakRssMb: number;
  /** The measured server's RSS once started, before any transfer. */
  serverIdleRssMb: number;
}

export async function measureFileRelay(options: { mib: number; rounds: number }): Promise<FileRelayResult> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-files-'));
  const children: ChildProcess[] = [];
  try {
    const bytes = options.mib * MIB;
    const source = join(dir, 'source.bin');
    await makeFile(source, bytes);
    // The accounts are made on a first server, and the measured one starts afterwards on the
    // same port and data: its peak RSS is then that of relaying files. Registering hashes each
    // password with argon2id (19 MiB on a thread-pool thread, which glibc keeps in that thread's
    // arena), which would add some 20 MB per hash that has nothing to do with files
    // (test/files-relay.test.ts does the same).
    const setup = await serve(join(dir, 'data'), children);
    const account = async (name: string) => {
      const api = new ParleyApi(setup.url);
      const { user } = await api.register({ name, password: 'correct horse battery' });
      return { api, user, files: new FileApi(api) };
    };
    const alice = await account('alice');
    const bob = await account('bob');
    await stop(setup.child);
    const server = await serve(join(dir, 'data'), children, setup.port);
    const kb = async (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1000;
    const serverIdleRssMb = await kb('VmRSS');

    const best = { rawTcp: 0, upload: 0, download: 0, relay: 0, senderHash: 0 };
    for (let round = 0; round < options.rounds; round++) {
      best.rawTcp = Math.max(best.rawTcp, await rawTcp(source, bytes));
      let started = Date.now();
      const { sha256 } = await hashFile(source);
      best.senderHash = Math.max(best.senderHash, rate(bytes, started));
      const { file } = await alice.files.offer({ conv: dmId(alice.user.id, bob.user.id), clientId: `bench${round}`, name: 'source.bin', size: bytes, sha256 });
      await bob.files.decide(file.id, 'accept');
      started = Date.now();
      const sent = await uploadFile(alice.files, file, source);
      const uploaded = Date.now();
      const out = join(dir, `out-${round}`);
      await rm(out, { recursive: true, force: true });
      await mkdir(out);
      await downloadFile(bob.files, sent.file, out);
      best.upload = Math.max(best.upload, rate(bytes, started, uploaded));
      best.download = Math.max(best.download, rate(bytes, uploaded));
      best.relay = Math.max(best.relay, rate(bytes, started));
      await rm(out, { recursive: true });
    }
    const serverPeakRssMb = await kb('VmHWM');
    return { bytes, ...best, serverPeakRssMb, serverIdleRssMb };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

function rate(bytes: number, from: number, to = Date.now()): number {
  return bytes / 1e6 / ((to - from) / 1000);
}

async function makeFile(path: string, size: number): Promise<void> {
  const block = randomBytes(MIB);
  const out = createWriteStream(path, { highWaterMark: MIB });
  for (let i = 0; i * MIB < size; i++) {
    const chunk = Buffer.from(block);
    chunk.writeUInt32LE(i, 0);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** The file from disk into a socket, to a receiver in another process that counts and drops it. */
async function rawTcp(source: string, bytes: number): Promise<number> {
  const sink = spawn(process.execPath, ['-e', `
    const server = require('node:net').createServer((socket) => {
      let n = 0; socket.on('data', (c) => { n += c.length; }); socket.on('end', () => { socket.end(String(n)); server.close(); });
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number((await once(createInterface({ input: sink.stdout! }), 'line'))[0]);
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  createReadStream(source, { highWaterMark: 256 * 1024 }).pipe(socket);
  let answer = '';
  socket.on('data', (data) => (answer += data));
  await once(socket, 'close');
  if (Number(answer) !== bytes) throw new Error(`raw TCP delivered ${answer} of ${bytes} bytes`);
  return rate(bytes, started);
}

async function serve(data: string, children: ChildProcess[], port?: number): Promise<{ url: string; pid: number; port: number; child: ChildProcess }> {
  port ??= await freePort();
  const child = spawn(process.execPath, [join(REPO, 'bin', 'parley.js'), 'serve', '--port', String(port), '--data', data, '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { url, pid: child.pid!, port, child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('parley serve did not start');
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, rounds: { type: 'string', default: '2' }, json: { type: 'string' } } });
  const result = await measureFileRelay({ mib: Number(values.mib), rounds: Number(values.rounds) });
  const mb = (value: number) => `${value.toFixed(0)} MB/s`;
  console.log(`| ${result.bytes / MIB} MiB over loopback | throughput |
|---|---|
| raw TCP (file → socket → another process) | ${mb(result.rawTcp)} |
| Parley upload (PATCH; server hashes + writes) | ${mb(result.upload)} |
| Parley download (GET; client hashes + writes) | ${mb(result.download)} |
| Parley relay, upload then download | ${mb(result.relay)} |
| sender's SHA-256 before the offer | ${mb(result.senderHash)} |
| server peak RSS | ${result.serverPeakRssMb.toFixed(0)} MB (idle: ${result.serverIdleRssMb.toFixed(0)} MB) |`);
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
  process.exit(0);
}
