/**
 * A private PostgreSQL for tests: Debian's `initdb` and `postgres` binaries run a throwaway
 * cluster in a temp folder, on a free loopback port, with its unix socket in that folder too, so
 * the machine's own PostgreSQL (5432) is never touched. Tests can stop and restart it (cluster
 * failure tests) and get a fresh database each.
 *
 * PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user (which the
 * Debian package creates), else `nobody` (spawned with that uid and gid, so signals reach
 * postgres itself), and its folder belongs to that user.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { perSuite } from './per-suite.ts';
import { freePort } from './ports.ts';
import { spawnTied } from './tied.ts';
import { descendants } from './process-tree.ts';

const ROOT = '/usr/lib/postgresql';

function findBinaries(): string | null {
  if (!existsSync(ROOT)) return null;
  const versions = readdirSync(ROOT)
    .filter((v) => existsSync(join(ROOT, v, 'bin', 'postgres')) && existsSync(join(ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(ROOT, versions[0], 'bin') : null;
}

const BIN = findBinaries();
export const hasPostgres = BIN !== null;

if (!hasPostgres && /^(true|1)$/i.test(process.env.CI ?? '')) {
  // In CI a skipped PostgreSQL suite would pass unnoticed: fail instead.
  throw new Error(`PostgreSQL's initdb/postgres are missing under ${ROOT} and CI is set (Debian: apt-get install postgresql).`);
}
if (!hasPostgres) {
  console.warn(
    '\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
      `!! PostgreSQL binaries are missing (${ROOT}/<version>/bin): the PostgreSQL  !!\n` +
      '!! tests are SKIPPED. Install them (Debian: apt-get install postgresql).   !!\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n',
  );
}

/** Who runs the cluster: ourselves, or, as root, an unprivileged user. */
function clusterUser(): ClusterUser | null {
  if (process.getuid?.() !== 0) return null;
  for (const name of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (id.status === 0 && gid.status === 0) return { name, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('Running as root and neither a `postgres` nor a `nobody` user exists: PostgreSQL refuses to run as root.');
}

type ClusterUser = { name: string; uid: number; gid: number };

/** Spawn options that run the binary as `user` (root only), with a home it may read. */
function as(user: ClusterUser | null, cwd: string) {
  return user ? { cwd, uid: user.uid, gid: user.gid, env: { ...process.env, HOME: cwd } } : { cwd };
}

export class TestPostgres {
  private process: ChildProcess | null = null;
  private databases = 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly user: ClusterUser | null,
  ) {}

  /** initdb into a temp folder and start the server. */
  static async start(): Promise<TestPostgres> {
    if (!BIN) throw new Error('PostgreSQL binaries are missing');
    const user = clusterUser();
    const dir = mkdtempSync(join(tmpdir(), 'parley-pg-'));
    if (user) chownSync(dir, user.uid, user.gid);
    const init = spawnSync(
      join(BIN, 'initdb'),
      ['-D', join(dir, 'data'), '-U', 'parley', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { encoding: 'utf8', ...as(user, dir) },
    );
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
    // Another process may take the free port before postgres binds it: then try another one (twice at most).
    for (let attempt = 1; ; attempt++) {
      const server = new TestPostgres(dir, await freePort(), user);
      try {
        await server.restart();
        return server;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  /** A connection URL for `database` (the maintenance database `postgres` when omitted). */
  url(database = 'postgres'): string {
    return `postgres://parley@127.0.0.1:${this.port}/${database}`;
  }

  /** A new, empty database; returns its URL. */
  async createDatabase(): Promise<string> {
    const name = `parley_test_${++this.databases}`;
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  /** The postmaster's pid (undefined while stopped). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /**
   * Stops (SIGSTOP) or resumes (SIGCONT) the postmaster and every backend: a server that keeps
   * its connections open but does not answer, as a paused or stalled host would.
   */
  signalAll(signal: 'SIGSTOP' | 'SIGCONT'): void {
    const postmaster = this.pid;
    if (postmaster === undefined) throw new Error('PostgreSQL is not running');
    for (const pid of [postmaster, ...descendants(postmaster)]) {
      try {
        process.kill(pid, signal);
      } catch {
        // a backend that ended meanwhile
      }
    }
  }

  get running(): boolean {
    return this.process !== null;
  }

  /** Starts the server (again, after stop) on the same port and data, and waits until it takes connections. */
  async restart(): Promise<void> {
    if (this.process) return;
    // fsync off: tests survive a crash of PostgreSQL (the OS keeps its writes), not of the machine.
    // Tied to this process (SIGQUIT, an immediate shutdown, when it ends): a crashed or killed
    // test worker does not leave it running (tied.ts).
    const child = spawnTied(
      join(BIN!, 'postgres'),
      ['-D', join(this.dir, 'data'), '-p', String(this.port), '-h', '127.0.0.1', '-k', this.dir,
        '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
      { stdio: ['ignore', 'ignore', 'pipe'], ...as(this.user, this.dir) },
      'SIGQUIT',
    );
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    this.process = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`postgres exited (${code}): ${output}`))),
    );
    exited.catch(() => {});
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ connectionString: this.url() });
      try {
        await Promise.race([client.connect(), exited]);
        await client.end();
        child.removeAllListeners('exit');
        child.once('exit', () => {
          if (this.process === child) this.process = null;
        });
        return;
      } catch (error) {
        await client.end().catch(() => {});
        if (child.exitCode !== null || child.signalCode !== null) {
          this.process = null;
          throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}): ${output}`);
        }
        if (Date.now() > deadline) {
          this.process = null;
          child.kill('SIGQUIT');
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Stops the server: `fast` (SIGINT: clients are cut, a clean shutdown) or `kill` (SIGQUIT: an immediate stop as in a crash, no checkpoint; recovery at the next start). */
  async stop(mode: 'fast' | 'kill' = 'fast'): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = null;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    await exited;
  }

  /** Stops the server and deletes its folder. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A private PostgreSQL for the enclosing `describe` block, started once before its tests and
 * destroyed after them: `const postgres = privatePostgres();` … `postgres().createDatabase()`.
 * An accessor, since the server exists only once beforeAll has run (per-suite.ts).
 */
export function privatePostgres(): () => TestPostgres {
  return perSuite('The private PostgreSQL', () => TestPostgres.start(), (postgres) => postgres.destroy());
}

/** The rows of one statement on the database at `url`, on a connection of its own (what a test reads behind Parley's back). */
export async function queryRows<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}
