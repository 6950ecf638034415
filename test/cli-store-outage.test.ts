/**
 * `parley` while the server cannot reach its database: the real CLI as a child process, against a
 * real server on a private PostgreSQL that the test stops before the command starts and starts
 * again while it waits. Signing in (with a saved session, or with the password) waits for the
 * database as the send itself does, says so in one line, says in one more line when it went
 * through, and the message is stored once.
 */
import type { ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { startLive } from '../src/cli/live.ts';
import { TokenCache } from '../src/cli/token-cache.ts';
import { WORLD } from '../src/protocol/index.ts';
import { allMessages, PASSWORD, registerUser, waitFor } from './support/clients.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
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
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
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

  /** The real `parley` as a child process, its output collected as it comes. */
  function parley(configHome: string, args: string[]): Running {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: configHome, PARLEY_SERVER: server!.url, PARLEY_PASSWORD: PASSWORD };
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
