import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { ParleyClientError } from '../src/client/errors.ts';
import { FileApi } from '../src/client/files.ts';
import { COMMANDS } from '../src/cli/commands/index.ts';
import { TokenCache } from '../src/cli/token-cache.ts';
import { WORLD, type FileCard, type Message } from '../src/protocol/index.ts';
import { PASSWORD, connect, waitFor } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { spawnTied } from './support/tied.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');

let server: TestServer;
/** Shared by the tests that only read the session cache; a test that changes it uses its own. */
let configHome: string;
const dirs: string[] = [];
const children: ChildProcess[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function environment(home: string, extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: home, PARLEY_SERVER: server.url, PARLEY_PASSWORD: PASSWORD };
  delete env.PARLEY_USER;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs the real `parley` as a child process (stdin is a pipe, so never a terminal). */
function parley(args: string[], options: { home?: string; env?: Record<string, string | undefined> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: environment(options.home ?? configHome, options.env ?? {}), timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

async function succeeds(args: string[], options: Parameters<typeof parley>[1] = {}): Promise<string> {
  const run = await parley(args, options);
  expect(run.code, `parley ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

const jsonLines = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-cli-'));
  dirs.push(dir);
  return dir;
}

const cacheFile = (home: string) => join(home, 'parley', 'sessions.json');

async function cachedToken(home: string, name: string): Promise<string | undefined> {
  return (await new TokenCache(cacheFile(home)).get(server.url, name))?.token;
}

/** A new user whose session is saved as `parley register` would, without paying for a CLI process. */
async function registerAndSave(home: string, name: string) {
  const api = new ParleyApi(server.url);
  const { user, token } = await api.register({ name, password: PASSWORD });
  await new TokenCache(cacheFile(home)).put(server.url, name, user, token);
  return { api };
}

/** The offer called `name` to the user of `api`, once it is there. */
async function offerTo(api: ParleyApi, name: string): Promise<FileCard> {
  const files = new FileApi(api);
  let offered: FileCard | undefined;
  await waitForAsync(async () => (offered = (await files.list()).find((card) => card.name === name && card.state === 'offered')) !== undefined, `the offer of ${name}`);
  return offered!;
}

async function waitForAsync(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A session saved as `parley login` would, without paying for a CLI process. */
async function saveSession(home: string, name: string): Promise<string> {
  const api = new ParleyApi(server.url);
  const { user, token } = await api.login({ name, password: PASSWORD });
  await new TokenCache(cacheFile(home)).put(server.url, name, user, token);
  return token;
}

beforeAll(async () => {
  server = await startTestServer();
  configHome = await tempDir();
  // One at a time: both write the same cache file.
  await succeeds(['register', '--user', 'alice']);
  await succeeds(['register', '--user', 'bob']);
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await server.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('parley, the command-line client', () => {
  it('register saves the session token in a file only its owner can read', async () => {
    const { mode } = await stat(cacheFile(configHome));
    expect(mode & 0o777).toBe(0o600);
    const aliceToken = await cachedToken(configHome, 'alice');
    expect((await new ParleyApi(server.url, { token: aliceToken! }).me()).user.name).toBe('alice');
    expect(await cachedToken(configHome, 'bob')).not.toBe(aliceToken);
  });

  it('a later command reuses the saved session instead of logging in again', async () => {
    const before = await readFile(cacheFile(configHome), 'utf8');
    await succeeds(['history', '--user', 'alice', '--with', 'world']);
    expect(await readFile(cacheFile(configHome), 'utf8')).toBe(before);
  });

  it('send --to world prints the acknowledgement, and history --json gives the messages in order, one per line', async () => {
    const first = await succeeds(['send', '--user', 'alice', '--to', 'world', 'hello,', 'world']);
    expect(first).toMatch(/^Sent to world \(conv world, seq \d+\)\.\n$/);
    const second = jsonLines(await succeeds(['send', '--user', 'bob', '--to', 'world', '--json', '--', '-1 for the weather']));
    expect(second).toEqual([expect.objectContaining({ conv: WORLD, seq: expect.any(Number) })]);

    const lines = jsonLines(await succeeds(['history', '--user', 'bob', '--with', 'world', '--json'])) as unknown as Message[];
    const ours = lines.filter((m) => ['hello, world', '-1 for the weather'].includes(m.text));
    expect(ours.map((m) => [m.sender.name, m.text])).toEqual([
      ['alice', 'hello, world'],
      ['bob', '-1 for the weather'],
    ]);
    expect(ours[1]!.seq).toBe(second[0]!.seq);
    expect(lines.map((m) => m.seq)).toEqual([...lines.map((m) => m.seq)].sort((a, b) => a - b));
  });

  it('send --to <user> opens the direct conversation, which the other user reads with history --with', async () => {
    // Two users of its own: the conversation is new whichever tests ran before.
    const home = await tempDir();
    for (const name of ['dora', 'eli']) await registerAndSave(home, name);
    expect(await succeeds(['send', '--user', 'dora', '--to', 'eli', 'just between us'], { home })).toMatch(/^Sent to @eli \(conv dm:\d+:\d+, seq 1\)\.\n$/);
    const shown = await succeeds(['history', '--user', 'eli', '--with', 'dora'], { home });
    expect(shown).toMatch(/^#1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d dora: just between us\n$/);
  });

  it('history pages back with --limit and --before', async () => {
    const { api } = await loginAs('alice');
    const client = await connect(api);
    const seqs: number[] = [];
    for (const text of ['page one', 'page two', 'page three']) seqs.push((await client.session.send(WORLD, text)).seq);
    client.close();
    const page = jsonLines(await succeeds(['history', '--user', 'alice', '--with', 'world', '--json', '--limit', '2', '--before', String(seqs[2])]));
    expect(page.map((m) => m.text)).toEqual(['page one', 'page two']);
  });

  it('who lists the users who are connected, and asking does not put you online', async () => {
    // Users of its own: another test's connection may still be closing.
    const home = await tempDir();
    const fay = await connect((await registerAndSave(home, 'fay')).api);
    await registerAndSave(home, 'gus');
    try {
      const online = (await succeeds(['who', '--user', 'gus'], { home })).trim().split('\n');
      expect(online).toContain('fay');
      expect(online).not.toContain('gus');
    } finally {
      fay.close();
    }
  });

  it('tail --json streams, one JSON object per line, a message sent after it started, and stops on Ctrl-C', async () => {
    const child = spawnTied(process.execPath, [BIN, 'tail', '--user', 'bob', '--json'], { env: environment(configHome, {}), stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
    children.push(child);
    const events: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => events.push(JSON.parse(line) as Record<string, unknown>));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(() => events.some((e) => e.type === 'welcome'), 'tail to connect', 20_000);

    await succeeds(['send', '--user', 'alice', '--to', 'world', 'live from the tail test']);
    await waitFor(() => events.some((e) => e.type === 'message' && e.text === 'live from the tail test'), 'the message in tail');
    expect(events.find((e) => e.type === 'message')).toMatchObject({ conv: WORLD, sender: { name: 'alice' } });

    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('send-file and receive --accept move an empty file', async () => {
    const dir = await tempDir();
    const source = join(dir, 'empty.txt');
    await writeFile(source, '');
    const out = await tempDir();
    const sender = parley(['send-file', '--user', 'alice', '--to', 'bob', '--json', source]);
    const bob = new FileApi(new ParleyApi(server.url, { token: (await cachedToken(configHome, 'bob'))! }));
    let offered: FileCard | undefined;
    for (let tries = 0; !offered && tries < 200; tries++) {
      offered = (await bob.list()).find((card) => card.name === 'empty.txt' && card.state === 'offered');
      if (!offered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(offered).toBeDefined();
    // `=`: a file id may begin with "-", which would otherwise read as an option.
    const received = await parley(['receive', '--user', 'bob', `--accept=${offered!.id}`, '--out', out, '--json']);
    expect(received.code, received.stderr).toBe(0);
    expect(jsonLines(received.stdout).find((line) => line.type === 'received')).toMatchObject({ bytes: 0, path: join(out, 'empty.txt') });
    expect((await stat(join(out, 'empty.txt'))).size).toBe(0);
    const sent = await sender;
    expect(sent.code, sent.stderr).toBe(0);
    expect(jsonLines(sent.stdout).find((line) => line.type === 'sent')).toMatchObject({ bytes: 0 });
  });

  it('receive never overwrites a file: one of the same name in --out is kept, the new one saved as "name (1).ext"', async () => {
    const home = await tempDir();
    await registerAndSave(home, 'hana');
    const ian = await registerAndSave(home, 'ian');
    const source = join(await tempDir(), 'notes.txt');
    await writeFile(source, 'the new notes');
    const out = await tempDir();
    await writeFile(join(out, 'notes.txt'), 'my own notes');
    const sender = parley(['send-file', '--user', 'hana', '--to', 'ian', source], { home });
    const offered = await offerTo(ian.api, 'notes.txt');
    const received = await parley(['receive', '--user', 'ian', `--accept=${offered.id}`, '--out', out, '--json'], { home });
    expect(received.code, received.stderr).toBe(0);
    expect(jsonLines(received.stdout).find((line) => line.type === 'received')).toMatchObject({ path: join(out, 'notes (1).txt') });
    expect((await readdir(out)).sort()).toEqual(['notes (1).txt', 'notes.txt']);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('my own notes');
    expect(await readFile(join(out, 'notes (1).txt'), 'utf8')).toBe('the new notes');
    expect((await sender).code).toBe(0);
  });

  it('receive --decline refuses an offer: the sender\'s send-file exits 1 saying so, and nothing is uploaded', async () => {
    const home = await tempDir();
    await registerAndSave(home, 'jon');
    const kay = await registerAndSave(home, 'kay');
    const source = join(await tempDir(), 'plans.txt');
    await writeFile(source, 'secret plans');
    const sender = parley(['send-file', '--user', 'jon', '--to', 'kay', '--json', source], { home });
    const offered = await offerTo(kay.api, 'plans.txt');
    const declined = await parley(['receive', '--user', 'kay', `--decline=${offered.id}`], { home });
    expect(declined.code, declined.stderr).toBe(0);
    const sent = await sender;
    expect(sent.code).toBe(1);
    expect(`${sent.stdout}${sent.stderr}`).toMatch(/declined/i);
    expect(await new FileApi(kay.api).get(offered.id)).toMatchObject({ state: 'declined', received: 0 });
  });

  it('receive --accept-all --wait keeps taking offers as they come, until Ctrl-C', async () => {
    const home = await tempDir();
    await registerAndSave(home, 'lia');
    await registerAndSave(home, 'max');
    const out = await tempDir();
    const child = spawnTied(process.execPath, [BIN, 'receive', '--user', 'max', '--accept-all', '--wait', '--out', out, '--json'], { env: environment(home, {}), stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
    children.push(child);
    const events: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => events.push(JSON.parse(line) as Record<string, unknown>));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const dir = await tempDir();
    // One file after the other: the second is offered only once the first is saved.
    for (const name of ['first.txt', 'second.txt']) {
      await writeFile(join(dir, name), `contents of ${name}`);
      const sent = await parley(['send-file', '--user', 'lia', '--to', 'max', join(dir, name)], { home });
      expect(sent.code, sent.stderr).toBe(0);
      await waitFor(() => events.some((e) => e.type === 'received' && e.path === join(out, name)), `${name} saved`, 20_000);
    }
    expect(child.exitCode).toBeNull();
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['first.txt', 'second.txt']);
  });

  it('a wrong password exits non-zero with WRONG_CREDENTIALS and leaves the saved session alone', async () => {
    const before = await readFile(cacheFile(configHome), 'utf8');
    const run = await parley(['login', '--user', 'alice'], { env: { PARLEY_PASSWORD: 'not the password' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('WRONG_CREDENTIALS');
    expect(await readFile(cacheFile(configHome), 'utf8')).toBe(before);
  });

  it('send to an unknown user exits non-zero with NOT_FOUND', async () => {
    const run = await parley(['send', '--user', 'alice', '--to', 'nobody', 'hello?']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/NOT_FOUND.*nobody/);
    expect(run.stdout).toBe('');
  });

  it('a saved session the server no longer accepts is replaced by a fresh login', async () => {
    const home = await tempDir();
    const stale = await saveSession(home, 'alice');
    await new ParleyApi(server.url, { token: stale }).logout();

    await succeeds(['history', '--user', 'alice', '--with', 'world'], { home });
    const fresh = await cachedToken(home, 'alice');
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(stale);
    expect((await new ParleyApi(server.url, { token: fresh! }).me()).user.name).toBe('alice');
  });

  it('logout revokes the session on the server and forgets its token', async () => {
    const home = await tempDir();
    const token = await saveSession(home, 'bob');
    expect(await succeeds(['logout', '--user', 'bob'], { home })).toContain('Logged out bob');

    const error = await new ParleyApi(server.url, { token }).me().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyClientError);
    expect((error as ParleyClientError).code).toBe('UNAUTHENTICATED');
    expect(await cachedToken(home, 'bob')).toBeUndefined();
  });

  it('password changes the password with the current one, ends every other session and keeps the saved one', async () => {
    const home = await tempDir();
    await registerAndSave(home, 'petra');
    const elsewhere = await new ParleyApi(server.url).login({ name: 'petra', password: PASSWORD });
    const saved = await cachedToken(home, 'petra');
    const stdout = await succeeds(['password', '--user', 'petra'], { home, env: { PARLEY_NEW_PASSWORD: 'petra has a new passphrase' } });
    expect(stdout).toBe(`Changed the password of petra on ${server.url}; every other session of the account has ended.\n`);
    await expect(new ParleyApi(server.url, { token: elsewhere.token }).me()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await new ParleyApi(server.url, { token: saved! }).me()).user.name).toBe('petra');
    await expect(new ParleyApi(server.url).login({ name: 'petra', password: PASSWORD })).rejects.toMatchObject({ code: 'WRONG_CREDENTIALS' });
    expect((await new ParleyApi(server.url).login({ name: 'petra', password: 'petra has a new passphrase' })).user.name).toBe('petra');
  });

  it('password asks for the current and the new password (twice) on a terminal, echoing none of them', async () => {
    const home = await tempDir();
    await registerAndSave(home, 'rita');
    // util-linux `script` runs the CLI on a pseudo-terminal and relays what is typed into it.
    const env = environment(home, { PARLEY_PASSWORD: undefined, PARLEY_NEW_PASSWORD: undefined });
    const child = spawn('script', ['-qfec', `'${process.execPath}' '${BIN}' password --user rita`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const answer = async (prompt: string, typed: string) => {
      await waitFor(() => screen.includes(prompt), `the prompt "${prompt}"`);
      screen = screen.slice(screen.indexOf(prompt) + prompt.length);
      child.stdin.write(`${typed}\r`);
    };
    const seen: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => seen.push(chunk.toString('utf8')));
    await answer('Current password for rita: ', PASSWORD);
    await answer('New password: ', 'rita has a new passphrase');
    await answer('Repeat the password: ', 'rita has a new passphrase');
    expect(await exited).toBe(0);
    const transcript = seen.join('');
    expect(transcript).toContain('Changed the password of rita');
    expect(transcript).not.toContain(PASSWORD);
    expect(transcript).not.toContain('rita has a new passphrase');
    expect((await new ParleyApi(server.url).login({ name: 'rita', password: 'rita has a new passphrase' })).user.name).toBe('rita');
  });

  it('password --json: success is one JSON line; a wrong current password, a weak new one or none at all is a JSON error', async () => {
    const home = await tempDir();
    await registerAndSave(home, 'quinn');
    const change = (env: Record<string, string | undefined>) => parley(['password', '--user', 'quinn', '--json'], { home, env });
    const errorOf = (run: Run) => [run.code, (JSON.parse(run.stderr) as { error: { code: string } }).error.code, run.stdout];
    expect(errorOf(await change({ PARLEY_PASSWORD: 'not the password', PARLEY_NEW_PASSWORD: 'quinn has a new passphrase' }))).toEqual([1, 'WRONG_CURRENT_PASSWORD', '']);
    expect(errorOf(await change({ PARLEY_NEW_PASSWORD: 'password1' }))).toEqual([1, 'PASSWORD_TOO_COMMON', '']);
    const none = await change({ PARLEY_NEW_PASSWORD: undefined });
    expect(errorOf(none)).toEqual([1, 'PASSWORD_NEEDED', '']);
    expect(none.stderr).toContain('PARLEY_NEW_PASSWORD');
    expect(jsonLines(await succeeds(['password', '--user', 'quinn', '--json'], { home, env: { PARLEY_NEW_PASSWORD: 'quinn has a new passphrase' } }))).toEqual([
      { changed: true, user: { id: expect.any(Number), name: 'quinn' } },
    ]);
  });

  it('without PARLEY_PASSWORD and without a terminal, a login fails with a message that says what to do', async () => {
    const run = await parley(['who', '--user', 'alice'], { home: await tempDir(), env: { PARLEY_PASSWORD: undefined } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('PARLEY_PASSWORD');
  });

  it('an unknown command or option is a usage error: a clear message and exit code 2', async () => {
    const [command, option, missing] = await Promise.all([
      parley(['shout', 'hello']),
      parley(['send', '--user', 'alice', '--too', 'world', 'hi']),
      parley(['history', '--user', 'alice']),
    ]);
    expect(command).toMatchObject({ code: 2, stdout: '' });
    expect(command.stderr).toContain("unknown command 'shout'");
    expect(option).toMatchObject({ code: 2, stdout: '' });
    expect(option.stderr).toContain("unknown option '--too'");
    expect(option.stderr).toContain('parley send --help');
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toContain('--with');
  });

  it('--help lists the commands, and each command explains its usage, options and examples', async () => {
    // The commands the README documents, pinned here rather than read from the code.
    const documented = ['serve', 'register', 'login', 'logout', 'password', 'send', 'send-file', 'receive', 'history', 'tail', 'who', 'rooms', 'room', 'people', 'backup', 'restore', 'export', 'migrate'];
    const [overview, send] = await Promise.all([parley(['--help']), parley(['send', '--help'])]);
    expect(overview.code).toBe(0);
    expect([...overview.stdout.matchAll(/^ {2}([a-z-]+) {2,}\S/gm)].map((match) => match[1])).toEqual(documented);
    for (const name of documented) {
      const help = COMMANDS.find((command) => command.name === name)?.help() ?? `no command ${name}`;
      expect(help, name).toMatch(new RegExp(`^Usage: parley ${name}\\b[\\s\\S]*\\nOptions\\b[^\\n]*:\\n[\\s\\S]*  -h, --help +show this help\\n[\\s\\S]*\\nExamples:\\n  parley `));
    }
    // send --help: the usage and options the README shows, and the documented 4,000-character limit.
    expect(send.code).toBe(0);
    expect(send.stdout.split('\n')[0]).toBe("Usage: parley send --to world|<user>|'#<room>' [options] [--] <text...>");
    for (const option of ['--to world|<user>|#<room>', '--json', '--server <url>', '-u, --user <name>']) expect(send.stdout).toContain(`  ${option}  `);
    expect(send.stdout).toContain('at most 4000 characters');
  });
});

async function loginAs(name: string) {
  const api = new ParleyApi(server.url);
  await api.login({ name, password: PASSWORD });
  return { api };
}
