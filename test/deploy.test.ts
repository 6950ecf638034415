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
if (!hasSystemdAnalyze) console.warn('\n!! /usr/bin/systemd-analyze is missing: the systemd-analyze verify test is SKIPPED (Debian: apt-get install systemd).\n');

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

describe('the cluster layout', () => {
  const compose = () => readFile(join(REPO, 'deploy', 'docker', 'compose-cluster.yaml'), 'utf8');
  const nginx = () => readFile(join(REPO, 'deploy', 'nginx', 'parley-cluster.conf'), 'utf8');

  it('runs three Parley nodes on one PostgreSQL and one Redis, each with a data volume of its own, behind nginx', async () => {
    const text = await compose();
    expect(text).not.toMatch(/\t/);
    const block = /^services:\n([\s\S]*?)^\S/m.exec(text)![1]!;
    const services = [...block.matchAll(/^ {2}([a-z0-9-]+):$/gm)].map((match) => match[1]);
    expect(services).toEqual(['parley-1', 'parley-2', 'parley-3', 'postgres', 'redis', 'nginx']);
    for (const node of ['parley-1', 'parley-2', 'parley-3']) {
      expect(text).toMatch(new RegExp(`^ {2}${node}:\\n {4}<<: \\*parley-node\\n {4}volumes:\\n {6}- ${node}-data:/data$`, 'm'));
    }
    expect(text).toMatch(/^x-parley-node: &parley-node$/m);
    expect(text).toMatch(/^ {4}PARLEY_DATABASE_URL: postgres:\/\/parley:[^@\s]+@postgres:5432\/parley$/m);
    expect(text).toMatch(/^ {4}PARLEY_REDIS_URL: redis:\/\/redis:6379$/m);
    expect(text).toMatch(/^ {4}PARLEY_BEHIND_TLS_PROXY: "1"$/m);
    expect(text).toMatch(/^ {4}PARLEY_PUBLIC_URL: https:\/\//m);
    expect(text).toMatch(/condition: service_healthy/);
    // Redis keeps nothing durable: no snapshot, no append-only file, no volume.
    expect(text).toMatch(/command: \["redis-server", "--save", "", "--appendonly", "no"\]/);
    expect(text).toMatch(/^ {6}- \.\.\/nginx\/parley-cluster\.conf:\/etc\/nginx\/conf\.d\/default\.conf:ro$/m);
    expect(text).toMatch(/^volumes:\n {2}parley-1-data: \{\}\n {2}parley-2-data: \{\}\n {2}parley-3-data: \{\}\n {2}postgres-data: \{\}\n?$/m);
  });

  it('proxies WebSocket upgrades to every node without sticky sessions, and streams uploads unbuffered', async () => {
    const text = await nginx();
    const braces = [...text.replace(/#.*$/gm, '')].reduce((depth, char) => {
      const next = depth + (char === '{' ? 1 : char === '}' ? -1 : 0);
      expect(next).toBeGreaterThanOrEqual(0);
      return next;
    }, 0);
    expect(braces).toBe(0);
    const upstream = /upstream parley \{([^}]*)\}/.exec(text)![1]!;
    expect([...upstream.matchAll(/^\s*server (parley-[123]):8080\b/gm)].map((match) => match[1])).toEqual(['parley-1', 'parley-2', 'parley-3']);
    expect(upstream).not.toMatch(/ip_hash|hash |sticky/);
    expect(text).toMatch(/^\s*proxy_http_version 1\.1;$/m);
    expect(text).toMatch(/^\s*proxy_set_header Upgrade \$http_upgrade;$/m);
    expect(text).toMatch(/^\s*proxy_set_header Connection \$parley_connection;$/m);
    expect(text).toMatch(/map \$http_upgrade \$parley_connection \{\s*default upgrade;\s*'' +'';\s*\}/);
    expect(text).toMatch(/^\s*proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;$/m);
    expect(text).toMatch(/^\s*proxy_set_header X-Forwarded-Proto \$scheme;$/m);
    // Longer than the server's 30 s heartbeat, or nginx would cut idle chat sockets.
    expect(Number(/proxy_read_timeout (\d+)s;/.exec(text)![1])).toBeGreaterThan(30);
    expect(text).toMatch(/^\s*client_max_body_size 0;$/m);
    expect(text).toMatch(/^\s*proxy_request_buffering off;$/m);
    // Every statement ends with ; (a comment, a brace or a blank line aside).
    for (const line of text.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean)) {
      expect(line).toMatch(/[;{}]$/);
    }
  });
});
