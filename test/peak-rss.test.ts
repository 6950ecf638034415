import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const REPORT_RSS = join(import.meta.dirname, 'support', 'report-peak-rss.mjs');

// The memory bounds of the file relay (files-relay.test.ts) rest on this report being the child's own.
it("reports a child process's own peak memory, not that of the larger process that spawned it", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'parley-rss-'));
  const ballast = Buffer.alloc(300 * 1024 * 1024, 1); // resident in this process while it spawns
  try {
    const child = spawn(process.execPath, ['--import', REPORT_RSS, '-e', 'globalThis.kept = Buffer.alloc(64 * 1024 * 1024, 1)'], {
      env: { ...process.env, PARLEY_PEAK_RSS_FILE: join(dir, 'peak') },
      stdio: 'ignore',
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    const peak = Number(await readFile(join(dir, `peak.${child.pid}`), 'utf8'));
    expect(peak).toBeGreaterThan(64 * 1024 * 1024); // what the child itself held
    expect(peak).toBeLessThan(200 * 1024 * 1024); // not the 300 MB of its parent
  } finally {
    expect(ballast[ballast.length - 1]).toBe(1);
    await rm(dir, { recursive: true, force: true });
  }
});
