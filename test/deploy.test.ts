/**
 * The service files in deploy/: systemd units that `systemd-analyze verify` accepts (where it is
 * installed), sandboxed as docs/DEPLOYMENT.md says; and a Dockerfile built from the package.
 * Docker itself cannot run here (no engine), so the image is checked as text only.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..');
const SYSTEMD = join(REPO, 'deploy', 'systemd');
const hasSystemdAnalyze = existsSync('/usr/bin/systemd-analyze');

function directives(unit: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) found.set(match[1]!, [...(found.get(match[1]!) ?? []), match[2]!]);
  }
  return found;
}

describe('the systemd units', () => {
  it.skipIf(!hasSystemdAnalyze)('pass systemd-analyze verify without a warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-units-'));
    try {
      for (const name of ['parley.service', 'parley-backup.service', 'parley-backup.timer']) {
        // verify insists that ExecStart's program exists: the installed parley is not on this machine.
        const text = (await readFile(join(SYSTEMD, name), 'utf8')).replaceAll('/usr/local/bin/parley', process.execPath);
        await writeFile(join(dir, name), text);
      }
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
        execFile('systemd-analyze', ['verify', ...['parley.service', 'parley-backup.service', 'parley-backup.timer'].map((name) => join(dir, name))], (error, _stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
        ),
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs parley serve as its own user, with the data folder as the only place it may write', async () => {
    const unit = directives(await readFile(join(SYSTEMD, 'parley.service'), 'utf8'));
    expect(unit.get('User')).toEqual(['parley']);
    expect(unit.get('ExecStart')).toEqual(['/usr/local/bin/parley serve']);
    expect(unit.get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(unit.get('StateDirectory')).toEqual(['parley']);
    expect(unit.get('StateDirectoryMode')).toEqual(['0700']);
    expect(unit.get('ProtectSystem')).toEqual(['strict']);
    expect(unit.get('ProtectHome')).toEqual(['yes']);
    expect(unit.get('NoNewPrivileges')).toEqual(['yes']);
    expect(unit.get('ReadWritePaths')).toBeUndefined();
    expect(unit.get('CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(unit.get('Environment')?.join(' ')).toContain('PARLEY_DATA_DIR=/var/lib/parley');
    const users = await readFile(join(SYSTEMD, 'parley.sysusers.conf'), 'utf8');
    expect(users).toMatch(/^u parley - "Parley chat server" \/var\/lib\/parley$/m);
  });
});

describe('the Dockerfile', () => {
  it('installs the npm package made by npm pack, runs as an unprivileged user, and keeps data in a volume', async () => {
    const dockerfile = await readFile(join(REPO, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^RUN npm pack /m);
    expect(dockerfile).toMatch(/^RUN npm install --global --omit=dev .*\/tmp\/parley\.tgz$/m);
    expect(dockerfile).toMatch(/^USER parley$/m);
    expect(dockerfile).toMatch(/^VOLUME \/data$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/usr\/local\/lib\/node_modules\/parley\/bin\/parley\.js"\]$/m);
    const ignored = (await readFile(join(REPO, '.dockerignore'), 'utf8')).split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'data', '.git']));
  });
});
