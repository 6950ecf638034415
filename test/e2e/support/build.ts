import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_ROOT = join(repo, 'dist', 'web');
const LOCK = join(repo, 'dist', '.web-build.lock');
const HOLDER = join(LOCK, 'pid');
/** How long to wait for a build another test process is running (a loaded machine builds slowly). */
const WAIT_MS = 10 * 60_000;

/**
 * Builds the web client once if it is missing or stale. Test files may run in parallel
 * processes, so the build holds a lock directory (mkdir is atomic) with the builder's pid in it;
 * the others wait for it. A lock is taken over only when its builder is gone (a killed run),
 * never because a slow build takes long.
 */
export async function ensureBuiltClient(): Promise<void> {
  mkdirSync(join(repo, 'dist'), { recursive: true });
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(HOLDER, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = holderOfLock();
      if (holder === 'gone') rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS / 60_000} min waiting for the web build of process ${holder}`);
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'src/web/build/ensure-built.ts')], { cwd: repo, stdio: 'inherit' });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** The pid building now, or 'gone' when the lock was left behind by a process that no longer runs. */
function holderOfLock(): number | 'gone' {
  let pid: number;
  try {
    pid = Number(readFileSync(HOLDER, 'utf8'));
  } catch {
    // Taken a moment ago, its pid not written yet; a lock that stays without one was abandoned there.
    const takenAt = statSafe(LOCK);
    return takenAt !== null && Date.now() - takenAt > 10_000 ? 'gone' : 0;
  }
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : pid;
  }
}

function statSafe(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}
