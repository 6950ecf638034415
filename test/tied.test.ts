/**
 * The processes tests start privately (PostgreSQL, Redis, `parley serve`) die with the test
 * process that started them, even when it is SIGKILLed and runs no clean-up at all, as a vitest
 * worker killed for running out of memory does (support/tied.ts).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { waitFor } from './support/clients.ts';
import { hasRedis } from './support/redis.ts';
import type { TiedChildren } from './support/tied-children.ts';
import { descendants } from './support/process-tree.ts';

const STARTER = join(import.meta.dirname, 'support', 'tied-children.ts');

/** Running, as a signal would find it: an exited process nobody has reaped yet (a zombie) is not. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}


describe.skipIf(!hasRedis)('processes a test starts privately', () => {
  it('die within seconds when the test process that started them is SIGKILLed', async () => {
    const starter = spawn(process.execPath, ['--import', 'tsx', STARTER], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    starter.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => starter.once('exit', () => resolve()));
    let children: TiedChildren | undefined;
    let watched: number[] = [];
    try {
      children = await new Promise<TiedChildren>((resolve, reject) => {
        createInterface({ input: starter.stdout! }).once('line', (line) => resolve(JSON.parse(line) as TiedChildren));
        void exited.then(() => reject(new Error(`the starter exited before it started them: ${stderr}`)));
      });
      const { pids } = children;
      // PostgreSQL's own processes (checkpointer, walwriter…) are checked too.
      watched = [pids.redis, pids.parley, ...(pids.postgres ? [pids.postgres, ...descendants(pids.postgres)] : [])];
      expect(watched.filter(running)).toEqual(watched);
      expect(descendants(starter.pid!)).toEqual(expect.arrayContaining([pids.redis, pids.parley]));

      starter.kill('SIGKILL');
      await exited;
      const started = Date.now();
      await waitFor(() => watched.every((pid) => !running(pid)), `${JSON.stringify(pids)} to exit after their starter was SIGKILLed`, 5_000);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      starter.kill('SIGKILL');
      for (const pid of watched) if (running(pid)) process.kill(pid, 'SIGKILL');
      for (const dir of children?.dirs ?? []) await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
