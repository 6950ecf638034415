import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/**
 * A fresh folder under the system's temp dir for the test that calls this, removed when that
 * test ends, passed or failed, so a run of the suite leaves nothing behind in /tmp. Call it from
 * inside a test (or a helper a test calls), not at module or describe level.
 */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `parley-${prefix}-`));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A path for a new SQLite database file in a scratch folder of the current test. */
export function scratchDatabase(prefix: string): string {
  return join(scratchDir(prefix), 'parley.sqlite');
}
