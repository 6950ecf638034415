import { execFile, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { FileApi } from '../src/client/files.ts';
import { TokenCache } from '../src/cli/token-cache.ts';
import { dmId, type FileCard } from '../src/protocol/index.ts';
import { PASSWORD, connect, waitFor } from './support/clients.ts';
import { DEFAULT_ACCOUNT_LIMITS } from '../src/server/accounts/accounts.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { spawnTied } from './support/tied.ts';

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

  it('with the server down, a command says it cannot reach the server and what to check, not that a password is needed', async () => {
    const url = await deadAddress();
    const run = await parley('nobody', ['who'], { PARLEY_SERVER: url, PARLEY_PASSWORD: undefined });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^parley: cannot reach ${url} \\(.+\\)\\. Check that the server is running and that --server or PARLEY_SERVER gives its address\\.\\n$`));
    expect(run.stderr).not.toMatch(/password/i);
    const registering = await parley('nobody', ['register'], { PARLEY_SERVER: url });
    expect([registering.code, registering.stderr]).toEqual([1, expect.stringContaining(`cannot reach ${url}`)]);
  });

  it('under --json an error is one JSON object on stderr, {"error":{"code","message"}}, with the same exit codes', async () => {
    await newUser('jsonist');
    const [unknown, usage, down] = await Promise.all([
      parley('jsonist', ['send', '--json', '--to', 'no-such-user', 'hello?']),
      parley('jsonist', ['history', '--json']),
      parley('jsonist', ['who', '--json'], { PARLEY_SERVER: await deadAddress() }),
    ]);
    const errorOf = (run: Run) => {
      expect(run.stdout).toBe('');
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      return JSON.parse(lines[0]!) as { error: { code: string; message: string } };
    };
    expect(unknown.code).toBe(1);
    expect(errorOf(unknown)).toEqual({ error: { code: 'NOT_FOUND', message: 'No user is called "no-such-user".' } });
    expect(usage.code).toBe(2);
    expect(errorOf(usage)).toEqual({ error: { code: 'USAGE', message: expect.stringContaining('--with') } });
    expect(down.code).toBe(1);
    expect(errorOf(down)).toEqual({ error: { code: 'NETWORK', message: expect.stringContaining('cannot reach') } });
  });

  it('a rate limit says when to try again once, in one sentence', async () => {
    await new ParleyApi(server.url).register({ name: 'locked', password: PASSWORD });
    // A stranger's guesses (no device token) hold the account from this address.
    for (let i = 0; i < 5; i++) await expect(new ParleyApi(server.url).login({ name: 'locked', password: `guess-${i}-guess` })).rejects.toMatchObject({ code: 'WRONG_CREDENTIALS' });
    const fresh = { XDG_CONFIG_HOME: await tempDir() };
    const [text, json] = await Promise.all([parley('locked', ['who'], fresh), parley('locked', ['who', '--json'], fresh)]);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^parley: LOGIN_RATE_LIMITED: Too many failed logins; try again in (15 min|14 min \d+ s)\.\n$/);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: 'LOGIN_RATE_LIMITED', message: expect.stringMatching(/^Too many failed logins; try again in [^;]+\.$/), retryAfterMs: expect.any(Number) },
    });
  });

  it('who says so plainly when nobody (else) is online, on stderr, with no names on stdout', async () => {
    // A server of its own: other tests' users must not be online meanwhile.
    const quiet = await startTestServer();
    try {
      const { user, token } = await new ParleyApi(quiet.url).register({ name: 'loner', password: PASSWORD });
      await new TokenCache(join(home, 'parley', 'sessions.json')).put(quiet.url, 'loner', user, token);
      const at = { PARLEY_SERVER: quiet.url };
      expect(await parley('loner', ['who'], at)).toEqual({ code: 0, stdout: '', stderr: 'Nobody is online now.\n' });
      expect(await parley('loner', ['who', '--json'], at)).toEqual({ code: 0, stdout: '', stderr: '' });
      const me = await connect(new ParleyApi(quiet.url, { token }));
      try {
        expect(await parley('loner', ['who'], at)).toEqual({ code: 0, stdout: 'loner\n', stderr: 'Nobody else is online now.\n' });
      } finally {
        me.close();
      }
    } finally {
      await quiet.close();
    }
  });

  it('text and names from others are printed with bidi overrides, isolates and control characters made visible', async () => {
    const teller = await newUser('teller');
    const reader = await newUser('reader');
    const { user } = await reader.me();
    const { id } = (await teller.me()).user;
    const text = 'pay \u202Eevil\u202C \u2066isolated\u2069 \u001b[2Jcleared\u2028next';
    const ack = await teller.send(dmId(id, user.id), text);
    const shown = await succeeds('reader', ['history', '--with', 'teller']);
    expect(shown).toContain(`#${ack.seq} `);
    expect(shown).toContain('teller: pay \\u202eevil\\u202c \\u2066isolated\\u2069 \\x1b[2Jcleared\\u2028next\n');
    expect(shown).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u2028\u001b]/);
    // --json hands the text over exactly as sent: a script gets the data, not a rendering.
    const [line] = (await succeeds('reader', ['history', '--with', 'teller', '--json'])).trim().split('\n');
    expect(JSON.parse(line!).text).toBe(text);
  });

  it('history shows a file offer as a file, with a marker, its name, size and state, not as a chat line', async () => {
    const giver = await newUser('giver');
    const getter = await newUser('getter');
    const conv = dmId((await giver.me()).user.id, (await getter.me()).user.id);
    const { file } = await new FileApi(giver).offer({ conv, clientId: 'history-offer-1', name: 'report.pdf', size: 200_000, sha256: 'a'.repeat(64), type: 'application/pdf' });
    expect(await succeeds('getter', ['history', '--with', 'giver'])).toMatch(/^#1 \S+ \S+ giver: \[file\] "report\.pdf", 195 KiB, offered\n$/);
    await new FileApi(getter).decide(file.id, 'decline');
    expect(await succeeds('giver', ['history', '--with', 'getter'])).toMatch(/^#1 \S+ \S+ giver: \[file\] "report\.pdf", 195 KiB, declined\n$/);
  });

  it('tail shows file offers and their changes, says an outage once when it starts and once when it ends, and never announces yourself', async () => {
    const door = await startSwitchableDoor(server.port);
    const caller = await newUser('caller');
    const tailer = await newUser('tailer');
    const child = spawnTied(process.execPath, [BIN, 'tail'], { env: environment('tailer', { PARLEY_SERVER: door.url }), stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
    children.push(child);
    const out: string[] = [];
    const err: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => out.push(line));
    createInterface({ input: child.stderr! }).on('line', (line) => err.push(line));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const shows = (lines: string[], pattern: RegExp, what: string) => waitFor(() => lines.some((line) => pattern.test(line)), what, 20_000);
    try {
      await shows(err, /^Connected to /, 'tail to connect');
      const callerOnline = await connect(caller);
      try {
        await shows(out, /^\* caller is online$/, "the caller's presence");
        const conv = dmId((await caller.me()).user.id, (await tailer.me()).user.id);
        const { file } = await new FileApi(caller).offer({ conv, clientId: 'tail-offer-1', name: 'notes.txt', size: 200_000, sha256: 'b'.repeat(64), type: '' });
        await shows(out, /^\[@caller\] #1 \S+ \S+ caller: \[file\] "notes\.txt", 195 KiB, offered$/, 'the offer');
        await new FileApi(tailer).decide(file.id, 'decline');
        await shows(out, /^\[@caller\] \* \[file\] "notes\.txt", 195 KiB, declined \(from caller to tailer\)$/, 'the decline');

        // An outage of several attempts to reconnect.
        door.down();
        await waitFor(() => door.refusedSockets >= 3, 'three attempts to reconnect', 20_000);
        door.up();
        await shows(err, /^\* connected again after \d+(\.\d+)? s\.$/, 'tail to say it is back');
        await callerOnline.session.send(conv, 'after the outage');
        await shows(out, /caller: after the outage$/, 'the message after the outage');
      } finally {
        callerOnline.close();
      }
      expect(err.filter((line) => line.includes('connection lost'))).toEqual(['* connection lost; reconnecting…']);
      expect(err.filter((line) => line.includes('connected again'))).toHaveLength(1);
      expect(out.filter((line) => /\btailer\b/.test(line) && line.startsWith('* '))).toEqual([]);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      await door.close();
    }
  });
});

/**
 * A loopback port in front of the test server that the test can take down: then every open
 * connection is cut and every new one closed at once, counted when it is a WebSocket handshake.
 */
async function startSwitchableDoor(backendPort: number) {
  const sockets = new Set<Socket>();
  let open = true;
  let refusedSockets = 0;
  const door = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (!open) {
      client.once('data', (chunk: Buffer) => {
        if (chunk.toString('latin1').startsWith('GET /ws')) refusedSockets++;
        client.destroy();
      });
      return;
    }
    const upstream = tcpConnect(backendPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => door.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(door.address() as AddressInfo).port}`,
    get refusedSockets() {
      return refusedSockets;
    },
    down() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    up() {
      open = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => door.close(resolve));
    },
  };
}

/** An address where nothing listens: a port the system gave out, then closed. */
async function deadAddress(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}
