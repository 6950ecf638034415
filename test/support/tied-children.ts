/**
 * Run by tied.test.ts as a stand-in for a test worker: starts a private Redis, a private
 * PostgreSQL (when its binaries are there) and a `parley serve` process the way tests do, prints
 * their pids as one JSON line, and waits to be killed.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveProcess } from './parley-process.ts';
import { hasPostgres, TestPostgres } from './postgres.ts';
import { startRedis } from './redis.ts';

export interface TiedChildren {
  pids: { redis: number; parley: number; postgres?: number };
  /** Their folders, for the test to remove. */
  dirs: string[];
}

const redis = await startRedis();
const postgres = hasPostgres ? await TestPostgres.start() : null;
const data = await mkdtemp(join(tmpdir(), 'parley-tied-'));
const parley = await serveProcess(['--port', '0', '--data', data]);
const started: TiedChildren = {
  pids: { redis: redis.pid!, parley: parley.child.pid!, ...(postgres ? { postgres: postgres.pid! } : {}) },
  dirs: [redis.dir, data, ...(postgres ? [postgres.dir] : [])],
};
console.log(JSON.stringify(started));
setInterval(() => {}, 60_000);
