/**
 * `parley` while the server cannot reach its database: the real CLI as a child process, against a
 * real server on a private PostgreSQL that the test stops before the command starts and starts
 * again while it waits. Signing in (with a saved session, or with the password) waits for the
 * database as the send itself does, says so in one line, says in one more line when it went
 * through, and the message is stored once. `parley send-file`'s offer (the database stopped while
 * a relay holds it, so the sign-in and look-ups before it went through) waits the same way, is
 * stored once, and the file then goes through.
 */
import type { ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { FileApi } from '../src/client/files.ts';
import { startLive } from '../src/cli/live.ts';
import { TokenCache } from '../src/cli/token-cache.ts';
import { dmId, WORLD } from '../src/protocol/index.ts';
import { allMessages, PASSWORD, registerUser, waitFor } from './support/clients.ts';
import { sha256 } from './support/files.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { startHoldingProxy } from './support/proxy.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { spawnTied } from './support/tied.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

describe.runIf(hasPostgres)('parley send while PostgreSQL is away', () => {
  const postgres = privatePostgres();
  let server: TestServer | null = null;
  const homes: string[] = [];
  const children: ChildProcess[] = [];
  const proxies: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const proxy of proxies.splice(0)) await proxy.close();
    await server?.close();
    server = null;
    await postgres().restart();
    for (const home of homes.splice(0)) await rm(home, { recursive: true, force: true });
  });

  async function home(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'parley-cli-outage-'));
    homes.push(dir);
    return dir;
  }

  /** The real `parley` as a child process, its output collected as it comes; it talks to `url` (the server's by default). */
  function parley(configHome: string, args: string[], url = server!.url): Running {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome, PARLEY_SERVER: url, PARLEY_PASSWORD: PASSWORD };
    delete env.PARLEY_USER;
    const child = spawnTied(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, stdout: () => stdout, stderr: () => stderr, exited };
  }

  const lines = (text: string) => text.trim().split('\n').filter((line) => line !== '');

  for (const signIn of ['with a saved session', 'with the password'] as const) {
    it(`signs in ${signIn} once PostgreSQL is back, saying so in one line each way, and the message is stored once`, async () => {
      server = await startTestServer({ flags: ['--database', await postgres().createDatabase()] });
      const configHome = await home();
      const alice = await registerUser(server.url, 'alice');
      if (signIn === 'with a saved session') {
        await new TokenCache(join(configHome, 'parley', 'sessions.json')).put(server.url, 'alice', alice.user, alice.token);
      }

      await postgres().stop('fast');
      const run = parley(configHome, ['send', '--user', 'alice', '--to', 'world', 'written while the database is away']);
      await waitFor(() => run.stderr().includes('cannot reach its database') || run.child.exitCode !== null, 'the CLI to say it waits for the database', 20_000);
      // Still waiting (it did not fail at the door), also after a refused retry or two.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(run.child.exitCode, run.stderr()).toBeNull();
      expect(lines(run.stderr())).toEqual([expect.stringMatching(/^The server cannot reach its database; signing in again every few seconds until it is back \(first try in 1 s, Ctrl-C to give up\)\.$/)]);

      await postgres().restart();
      expect(await run.exited, run.stderr()).toBe(0);
      expect(lines(run.stderr())).toEqual([
        expect.stringContaining('signing in again every few seconds'),
        'The database is back; signed in.',
      ]);
      expect(run.stdout()).toMatch(/^Sent to world \(conv world, seq \d+\)\.\n$/);
      const stored = await allMessages(new ParleyApi(server.url, { token: alice.token }), WORLD);
      expect(stored.filter((message) => message.text === 'written while the database is away')).toHaveLength(1);
    }, 60_000);
  }

  it('send-file: the offer refused while PostgreSQL is away waits, saying so in one line each way, is stored once, and the file then goes through', async () => {
    server = await startTestServer({ flags: ['--database', await postgres().createDatabase()] });
    const alice = await registerUser(server.url, 'alice');
    const bob = await registerUser(server.url, 'bob');
    const data = randomBytes(300 * 1024);
    const source = join(await home(), 'report.bin');
    await writeFile(source, data);
    // send-file reaches the server through a relay that keeps its offer back: the database stops
    // while the offer is on its way, after the sign-in, the look-up and the search for an open
    // offer went through, so the offer is the step that meets the outage.
    const relay = await startHoldingProxy(() => server!.port);
    proxies.push(relay);
    const offers = () => relay.requests.filter((request) => request.line === 'POST /api/files HTTP/1.1').length;
    const refused = () => relay.responses.filter((status) => status.startsWith('HTTP/1.1 503')).length;
    relay.holdRequest(/^POST \/api\/files HTTP\/1\.1$/);

    const run = parley(await home(), ['send-file', '--user', 'alice', '--to', 'bob', source], relay.url);
    await waitFor(() => relay.holding || run.child.exitCode !== null, 'the offer to reach the relay', 20_000);
    expect(run.child.exitCode, run.stderr()).toBeNull();
    await postgres().stop('fast');
    relay.release();
    // The first try and a retry are refused (503), and the command is still waiting.
    await waitFor(() => refused() >= 2 || run.child.exitCode !== null, 'a retried offer to be refused', 20_000);
    expect(run.child.exitCode, run.stderr()).toBeNull();
    expect(offers()).toBeGreaterThanOrEqual(2);
    expect(lines(run.stderr())).toEqual([
      `Hashing ${source} (300 KiB)…`,
      expect.stringMatching(/^The server cannot reach its database; offering the file again every few seconds until it is back \(first try in 1 s, Ctrl-C to give up\)\.$/),
    ]);

    await postgres().restart();
    await waitFor(() => run.stderr().includes('Waiting for @bob') || run.child.exitCode !== null, 'the offer to go through', 20_000);
    expect(run.child.exitCode, run.stderr()).toBeNull();
    const said = lines(run.stderr());
    expect(said.slice(1)).toEqual([
      expect.stringContaining('offering the file again'),
      'The database is back; the file was offered.',
      expect.stringMatching(/^Offered "report\.bin" \(300 KiB\) id \S+ to @bob\.$/),
      'Waiting for @bob to accept or decline… (Ctrl-C stops waiting; the offer stays open)',
    ]);
    const id = /id (\S+) to @bob\.$/.exec(said[3]!)![1]!;

    // Stored once, whichever try reached the database: one card for bob, one offer in the DM.
    const cards = (await new FileApi(bob.api).list({ state: 'all' })).filter((card) => card.name === 'report.bin');
    expect(cards).toEqual([expect.objectContaining({ id, state: 'offered', size: data.length, sha256: sha256(data), from: expect.objectContaining({ name: 'alice' }) })]);
    const dm = await allMessages(new ParleyApi(server.url, { token: alice.token }), dmId(alice.user.id, bob.user.id));
    expect(dm.filter((message) => message.file !== undefined).map((message) => message.file!.id)).toEqual([id]);

    // bob takes it: the bytes arrive whole.
    const out = await home();
    const received = parley(await home(), ['receive', '--user', 'bob', `--accept=${id}`, '--out', out, '--json']);
    expect(await received.exited, received.stderr()).toBe(0);
    expect(sha256(await readFile(join(out, 'report.bin')))).toBe(sha256(data));
    expect(await run.exited, run.stderr()).toBe(0);
    expect(run.stdout()).toMatch(new RegExp(`^Sent 307,200 bytes \\(300 KiB\\) in [\\d.]+ s; the server verified SHA-256 ${sha256(data)}\\.\\n$`));
    expect((await new FileApi(bob.api).list({ state: 'all' })).filter((card) => card.name === 'report.bin')).toEqual([expect.objectContaining({ id, state: 'completed' })]);
  }, 60_000);

  it('opens a live session (tail, receive, send-file) once PostgreSQL is back when its first handshake was refused for it, saying so once each way', async () => {
    server = await startTestServer({ flags: ['--database', await postgres().createDatabase()] });
    const alice = await registerUser(server.url, 'alice');
    const notes: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      notes.push(String(chunk));
      return true;
    });
    try {
      await postgres().stop('fast');
      const { session, ready } = startLive(new ParleyApi(server.url, { token: alice.token }), { reconnect: true });
      let outcome = 'pending';
      ready.then(() => (outcome = 'ready'), (error: Error) => (outcome = `failed: ${error.message}`));
      await waitFor(() => notes.length > 0 || outcome !== 'pending', 'the first handshake to be answered', 20_000);
      // Still waiting after a refused reconnect or two, not failed at the first 503.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(outcome).toBe('pending');
      expect(notes).toEqual([expect.stringMatching(/^The server cannot reach its database; connecting again every few seconds/)]);

      await postgres().restart();
      const welcome = await ready;
      expect(welcome.me.name).toBe('alice');
      expect(notes).toEqual([expect.stringContaining('connecting again'), 'The database is back; connected.\n']);
      session.close();
    } finally {
      stderr.mockRestore();
    }
  }, 60_000);

  it('answers a WebSocket handshake while PostgreSQL is away with 503 STORE_UNAVAILABLE and when to try again, not a 500', async () => {
    server = await startTestServer({ flags: ['--database', await postgres().createDatabase()] });
    const alice = await registerUser(server.url, 'alice');
    await postgres().stop('fast');
    // The handshake checks the session in the database: a plain HTTP upgrade request shows the answer.
    const response = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const url = new URL('/ws', server!.url);
      const request = httpRequest(url, {
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          Authorization: `Bearer ${alice.token}`,
        },
      });
      request.on('response', (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      request.on('upgrade', () => reject(new Error('the handshake succeeded with the database away')));
      request.on('error', reject);
      request.end();
    });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(JSON.parse(response.body)).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: expect.stringContaining('database') } });
  }, 60_000);
});
