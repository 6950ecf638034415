import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_ROOT = join(repo, 'dist', 'web');
const LOCK = join(repo, 'dist', '.web-build.lock');

/**
 * Builds the web client once if it is missing or stale. Test files may run in parallel
 * processes, so the build holds a lock directory (mkdir is atomic); the others wait for it.
 */
export async function ensureBuiltClient(): Promise<void> {
  mkdirSync(join(repo, 'dist'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock older than the longest build is left over from a killed run.
      const age = Date.now() - (statSafe(LOCK) ?? Date.now());
      if (age > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another web build');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'src/web/build/ensure-built.ts')], { cwd: repo, stdio: 'inherit' });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function statSafe(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}
