/**
 * Parley as an operator gets it: `npm pack` makes a tarball of the compiled server, CLI and web
 * client; `npm install -g --omit=dev` of that tarball into an empty prefix gives a `parley` that
 * serves, and that a person can register, send and read history with. And `npm start` runs the
 * compiled code and stops when it is sent SIGTERM.
 *
 * Everything happens in a copy of the working tree, so building here never touches the dist/
 * that other test files serve the web client from.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, waitFor } from './support/clients.ts';
import { descendants } from './support/process-tree.ts';
import { spawnTied } from './support/tied.ts';

const REPO = join(import.meta.dirname, '..');
/** Not copied: what a fresh clone does not have, and what the copy links to instead. */
const LEFT_OUT = new Set(['node_modules', 'dist', 'data', 'scratch', '.git', 'tmp']);

let work: string;
let copy: string;
const children: ChildProcess[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a person's shell: none of the test runner's variables. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(VITEST|NODE_ENV$|TEST$|npm_|PARLEY_)/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd ?? work, env: options.env ?? cleanEnv(), timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** Starts a server process and resolves with the URL from its "listening" log line. */
function startServing(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawnTied(command, args, { cwd: options.cwd ?? work, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
  children.push(child);
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const url = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const match = /"url":"(http[^"]+)"/.exec(line);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${lines.join('\n')}`)));
  });
  return { child, url, exited, lines };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


/**
 * A prebuilt better-sqlite3 for this Node.js, made from the checkout's own (built by `npm ci` on
 * this machine), in the folder that prebuild-install reads through
 * `npm_config_better_sqlite3_local_prebuilds`. An operator's install downloads the project's
 * prebuilt binary from GitHub; this machine cannot reach GitHub, and compiling SQLite again
 * instead took 110 of this file's 125 seconds. Returns the folder.
 */
async function sqlitePrebuild(): Promise<string> {
  const module = join(REPO, 'node_modules', 'better-sqlite3');
  const version = sqliteVersion();
  const folder = join(work, 'prebuilds');
  await mkdir(join(folder, 'build', 'Release'), { recursive: true });
  await cp(join(module, 'build', 'Release', 'better_sqlite3.node'), join(folder, 'build', 'Release', 'better_sqlite3.node'));
  // prebuild-install's name for it (glibc Linux has no libc part).
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const packed = await run('tar', ['-czf', join(folder, name), '-C', folder, 'build/Release/better_sqlite3.node']);
  expect(packed.code, packed.stderr).toBe(0);
  return folder;
}

/** The version of better-sqlite3 in the checkout (package-lock.json's). */
function sqliteVersion(): string {
  return (JSON.parse(readFileSync(join(REPO, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Processes found by a test, killed at the end should an assertion fail before they stop. */
const strays: number[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'parley-package-'));
  copy = join(work, 'checkout');
  await mkdir(copy);
  for (const entry of await readdir(REPO)) {
    if (LEFT_OUT.has(entry) || entry.endsWith('.tgz')) continue;
    await cp(join(REPO, entry), join(copy, entry), { recursive: true });
  }
  await symlink(join(REPO, 'node_modules'), join(copy, 'node_modules'), 'dir');
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of strays) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  let tarball: string;
  let prefix: string;

  it('says at start, from a checkout with nothing built, that the web client is not built and how to build it', async () => {
    const bare = startServing(process.execPath, ['bin/parley.js', 'serve', '--port', '0', '--data', join(work, 'bare-data')], { cwd: copy });
    const url = await bare.url;
    await waitFor(() => bare.lines.some((line) => line.includes('web client is not built')), 'the warning');
    const warning = JSON.parse(bare.lines.find((line) => line.includes('web client is not built'))!) as { level: number; msg: string };
    expect(warning.level).toBe(40);
    expect(warning.msg).toContain('npm run build');
    expect((await fetch(`${url}/`)).status).toBe(503);
    bare.child.kill('SIGTERM');
    expect(await bare.exited).toBe(0);
  }, 60_000);

  it('packs the bundled server and CLI and the built web client, and neither sources nor tests', async () => {
    const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: copy, timeoutMs: 300_000 });
    expect(packed.code, packed.stderr).toBe(0);
    const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
    tarball = join(work, basename(report.filename));
    const files = report.files.map((file) => file.path);
    expect(files).toContain('bin/parley.js');
    expect(files).toContain('dist/cli/run.js');
    // The server is bundled into dist/cli (the entry and the chunks it imports on demand), with no
    // file-for-file copy of the sources beside it.
    expect(files.filter((file) => file.startsWith('dist/cli/') && file.endsWith('.js')).length).toBeGreaterThan(1);
    expect(files.filter((file) => /^dist\/(server|client|protocol|lib)\//.test(file))).toEqual([]);
    expect(files).toContain('dist/web/index.html');
    expect(files.some((file) => file.startsWith('dist/web/assets/') && file.endsWith('.js'))).toBe(true);
    expect(files.filter((file) => file.startsWith('src/') || file.startsWith('test/') || file.endsWith('.ts'))).toEqual([]);
  }, 300_000);

  it("gives every bundled chunk CommonJS's __dirname: ioredis's showFriendlyErrorStack, which reads it, works in the bundle", async () => {
    // Built by the packing above; built here when this test runs alone.
    if (!existsSync(join(copy, 'dist', 'cli', 'run.js'))) {
      const built = await run(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: copy, timeoutMs: 300_000 });
      expect(built.code, built.stderr).toBe(0);
    }
    const dir = join(copy, 'dist', 'cli');
    const chunks = (await readdir(dir)).filter((file) => file.endsWith('.js'));
    // The chunk that holds ioredis, copied beside itself (so its imports of other chunks resolve)
    // with an export appended that runs a command through the bundled ioredis with
    // showFriendlyErrorStack on: a refused command is rejected through
    // optimizeErrorStack(error, stack, __dirname). Without the banner's __dirname that line throws
    // "ReferenceError: __dirname is not defined" instead.
    const chunk = chunks.find((file) => readFileSync(join(dir, file), 'utf8').includes('optimizeErrorStack'));
    expect(chunk, 'a chunk that bundles ioredis').toBeDefined();
    const probe = join(dir, 'probe-dirname.js');
    await writeFile(
      probe,
      `${readFileSync(join(dir, chunk!), 'utf8')}\n` +
        'export async function probe() {\n' +
        "  const redis = new import_ioredis.Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, showFriendlyErrorStack: true, enableOfflineQueue: false, retryStrategy: () => null });\n" +
        '  try { await redis.get("x"); return null; } catch (error) { return { name: error.name, message: error.message, stack: error.stack }; } finally { redis.disconnect(); }\n' +
        '}\n',
    );
    // Every chunk is loaded too: a clash of the banner's names with bundled code would fail here.
    // In a plain node process: vitest's module runner would lend the module a __dirname of its own.
    const driver = join(work, 'probe-dirname.mjs');
    await writeFile(
      driver,
      `for (const chunk of ${JSON.stringify(chunks.filter((file) => file !== 'run.js'))}) await import(${JSON.stringify(dir + '/')} + chunk);\n` +
        `const { probe } = await import(${JSON.stringify(probe)});\n` +
        'console.log(JSON.stringify(await probe()));\n',
    );
    const probed = await run(process.execPath, [driver]);
    expect(probed.code, probed.stderr).toBe(0);
    const error = JSON.parse(probed.stdout.trim().split('\n').at(-1)!) as { name: string; message: string; stack: string };
    expect(error.name, error.stack).toBe('Error');
    expect(error.message).toContain("Stream isn't writeable");
    // optimizeErrorStack cut the frames under __dirname: the chunk's own folder, dist/cli.
    expect(error.stack).not.toContain(dir);
    expect(error.stack).toContain(driver);
    await rm(probe);
  }, 300_000);

  it('installs with --omit=dev into an empty prefix, without engine warnings and without the build tools', async () => {
    prefix = join(work, 'prefix');
    const prebuilds = await sqlitePrebuild();
    const installed = await run('npm', ['install', '--global', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
      env: cleanEnv({ npm_config_better_sqlite3_local_prebuilds: prebuilds }),
      timeoutMs: 900_000,
    });
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stderr).not.toContain('EBADENGINE');
    const modules = await readdir(join(prefix, 'lib', 'node_modules', 'parley', 'node_modules'));
    for (const devOnly of ['vite', 'tsx', 'typescript', 'preact', 'vitest', '@types']) expect(modules).not.toContain(devOnly);
    expect(existsSync(join(prefix, 'bin', 'parley'))).toBe(true);
    // The driver came from the prebuild, as an operator's comes from the project's releases: a
    // compile leaves node-gyp's object files beside the binary. The install resolves versions
    // from the registry, not from package-lock.json: a newer better-sqlite3 there has no prebuild
    // here and is compiled, which is slow but as correct.
    const driver = join(prefix, 'lib', 'node_modules', 'parley', 'node_modules', 'better-sqlite3');
    const installedVersion = (JSON.parse(readFileSync(join(driver, 'package.json'), 'utf8')) as { version: string }).version;
    if (installedVersion === sqliteVersion()) expect(await readdir(join(driver, 'build', 'Release'))).toEqual(['better_sqlite3.node']);
    else console.warn(`better-sqlite3 ${installedVersion} was installed, the checkout has ${sqliteVersion()}: it was compiled (npm update better-sqlite3 makes the test fast again)`);
  }, 900_000);

  it('serves the web client and carries a registration, a message and its history through the installed parley', async () => {
    const parley = join(prefix, 'bin', 'parley');
    const data = join(work, 'data');
    const server = startServing(parley, ['serve', '--port', '0', '--data', data]);
    const url = await server.url;
    const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module"');

    const env = cleanEnv({ PARLEY_SERVER: url, PARLEY_PASSWORD: PASSWORD, XDG_CONFIG_HOME: join(work, 'config') });
    const registered = await run(parley, ['register', '--user', 'alice'], { env });
    expect(registered.code, registered.stderr).toBe(0);
    const sent = await run(parley, ['send', '--user', 'alice', '--to', 'world', 'hello from the installed package'], { env });
    expect(sent.code, sent.stderr).toBe(0);
    const history = await run(parley, ['history', '--user', 'alice', '--with', 'world', '--json'], { env });
    expect(history.code, history.stderr).toBe(0);
    const texts = history.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { text?: string }).text);
    expect(texts).toContain('hello from the installed package');

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 120_000);
});

describe('npm start', () => {
  it('runs the compiled server and stops it when npm itself is sent SIGTERM', async () => {
    const npm = startServing('npm', ['start', '--', '--port', '0', '--data', join(work, 'start-data')], { cwd: copy });
    const url = await npm.url;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const processes = descendants(npm.child.pid!);
    strays.push(...processes);
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // npm runs the compiled entry point, not the sources through tsx.
    const server = processes.find((pid) => cmdline(pid)[0] === 'node' || cmdline(pid)[0]!.endsWith('/node'));
    expect(server, 'a node process under npm').toBeDefined();
    expect(cmdline(server!)).toContain('dist/cli/run.js');

    npm.child.kill('SIGTERM');
    await npm.exited;
    // Nothing npm started outlives it: the signal reached the server, which shut down cleanly.
    await waitFor(() => processes.every((pid) => !isRunning(pid)), 'every process under npm to exit after SIGTERM to npm', 20_000);
    expect(npm.lines.join('\n')).toContain('"signal":"SIGTERM"');
  }, 300_000);
});
