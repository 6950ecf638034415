import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { FileApi } from '../src/client/files.ts';
import { TokenCache } from '../src/cli/token-cache.ts';
import type { FileCard } from '../src/protocol/index.ts';
import { PASSWORD } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** The rough edges a new user met in the CLI (issue 12, "First-run rough edges"), each kept fixed. */

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');

let server: TestServer;
let home: string;
const dirs: string[] = [];
const children: ChildProcess[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function environment(user: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: home, PARLEY_SERVER: server.url, PARLEY_PASSWORD: PASSWORD, PARLEY_USER: user };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs the real `parley` as a child process, as `user` (stdin is a pipe, never a terminal). */
function parley(user: string, args: string[], extra: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: environment(user, extra), timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

async function succeeds(user: string, args: string[]): Promise<string> {
  const run = await parley(user, args);
  expect(run.code, `parley ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-cli-'));
  dirs.push(dir);
  return dir;
}

/** A new user whose session is saved as `parley register` would, without paying for a CLI process. */
async function newUser(name: string): Promise<ParleyApi> {
  const api = new ParleyApi(server.url);
  const { user, token } = await api.register({ name, password: PASSWORD });
  await new TokenCache(join(home, 'parley', 'sessions.json')).put(server.url, name, user, token);
  return new ParleyApi(server.url, { token });
}

async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const offerTo = (api: ParleyApi, name: string) =>
  until(async () => (await new FileApi(api).list()).find((card: FileCard) => card.name === name && card.state === 'offered'), `the offer of ${name}`);

beforeAll(async () => {
  server = await startTestServer();
  home = await tempDir();
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await server.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('the CLI on first run', () => {
  it('says sizes as the web client does (binary units), and a fast transfer takes a real figure, not "0.0 s"', async () => {
    await newUser('sizer');
    const taker = await newUser('taker');
    const source = join(await tempDir(), 'photo.jpg');
    await writeFile(source, Buffer.alloc(200_000, 7));
    const sending = parley('sizer', ['send-file', '--to', 'taker', source]);
    const offered = await offerTo(taker, 'photo.jpg');
    const received = await parley('taker', ['receive', `--accept=${offered.id}`, '--out', await tempDir()]);
    expect(received.code, received.stderr).toBe(0);
    const sent = await sending;
    expect(sent.code, sent.stderr).toBe(0);

    expect(sent.stderr).toContain('"photo.jpg" (195 KiB)');
    for (const line of [sent.stdout, received.stdout]) {
      expect(line).toMatch(/^(Sent|Received) 200,000 bytes \(195 KiB\) in (\d+(\.\d+)?|< 0\.001) s[;:]/);
      expect(line).not.toMatch(/in 0\.0 s/);
    }
  });

  it('serve on a port in use says so in one line, names the port and what to do, and exits 1', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const run = await parley('nobody', ['serve', '--host', '127.0.0.1', '--port', String(port), '--data', await tempDir()]);
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(`port ${port} on 127.0.0.1 is already in use`)]);
      expect(run.stderr).toContain('--port');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
    }
  });
});
