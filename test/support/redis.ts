/**
 * A private redis-server for a test: its own temp folder, a free loopback port, nothing saved
 * (`--save '' --appendonly no`), so a test may stop and restart it without touching the
 * machine's shared Redis. The binary comes from the Debian package `redis-server` (.ci/run
 * installs it): missing, the Redis tests are skipped with a loud warning, and fail under CI.
 */
import { Redis } from 'ioredis';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { perSuite } from './per-suite.ts';
import { spawnTied } from './tied.ts';
import { freePort } from './ports.ts';

const BINARY = 'redis-server';

export const hasRedis = spawnSync(BINARY, ['--version'], { stdio: 'ignore' }).status === 0;

if (!hasRedis && /^(true|1)$/i.test(process.env.CI ?? '')) {
  // In CI a skipped cluster suite would pass unnoticed: fail instead.
  throw new Error(`${BINARY} is missing and CI is set: the Redis tests cannot run (Debian: apt-get install redis-server).`);
}
if (!hasRedis) {
  console.warn(
    '\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
      '!! redis-server is missing: the Redis (cluster mode) tests are SKIPPED.   !!\n' +
      '!! Install it (Debian: apt-get install redis-server) to run them.        !!\n' +
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n',
  );
}

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Its folder (removed by close). */
  readonly dir: string;
  /** The running redis-server's pid (undefined while stopped). */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, nothing saved) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
  /** Empties it (FLUSHALL), as a new server would be: for a test that must not meet what an earlier test's nodes left. */
  flush(): Promise<void>;
}

export async function startRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-redis-'));
  // Another process may take the free port before redis-server binds it: then try another one (twice at most).
  let port = 0;
  let child: ChildProcess | null = null;
  for (let attempt = 1; child === null; attempt++) {
    port = await freePort();
    try {
      child = await run(dir, port);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return child?.pid;
    },
    stop,
    async restart() {
      await stop();
      child = await run(dir, port);
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async flush() {
      const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0 });
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
  };
}

/**
 * A private Redis for the enclosing `describe` block, started once before its tests and closed
 * after them: `const redis = privateRedis();` … `redis().url`. An accessor, since the server
 * exists only once beforeAll has run (per-suite.ts).
 */
export function privateRedis(): () => PrivateRedis {
  return perSuite('The private Redis', startRedis, (redis) => redis.close());
}

/** Starts redis-server and resolves once it accepts connections. */
function run(dir: string, port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice'];
  // Tied to this process: a crashed or killed test worker does not leave it running (tied.ts).
  const child = spawnTied(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGTERM');
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    child.once('error', reject);
  });
}

