/**
 * Backups, restores and exports as an operator runs them: `parley backup` as its own process
 * against the data folder of a server that is busy, `parley restore` into an empty folder,
 * `parley export`. Exports on PostgreSQL, and a user's download of their own data over HTTP, on
 * either database: export.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { WORLD } from '../src/protocol/index.ts';
import { PASSWORD, connect, registerUser, type Client } from './support/clients.ts';
import { offer, patchUpload, sha256, threeUsers } from './support/files.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');
const CLIENTS = 20;

const dirs: string[] = [];
async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `parley-${label}-`));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function parley(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = { ...process.env, ...extraEnv };
  delete env.PARLEY_DATA_DIR;
  if (!('PARLEY_DATABASE_URL' in extraEnv)) delete env.PARLEY_DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const records = (ndjson: string) => ndjson.trim().split('\n').map((line) => JSON.parse(line) as { type: string; [key: string]: unknown });

interface Acked {
  conv: string;
  seq: number;
  clientId: string;
}

describe('parley backup, restore and export, against a server that is busy', () => {
  let server: TestServer;
  let backupFile: string;
  let restoredDir: string;
  const acked: Acked[] = [];
  let ackedBeforeBackup: Acked[] = [];
  const fileBytes = Buffer.from('the minutes of the meeting, in full\n'.repeat(1000));
  let fileId: string;

  beforeAll(async () => {
    server = await startTestServer({ flags: ['--send-rate', '1000', '--send-burst', '1000'] });
    // A completed file, so the backup holds a blob the restore must check against its card.
    const { alice, bob, conv } = await threeUsers(server.url);
    const card = await offer(alice.files, conv, fileBytes, 'minutes.txt');
    await bob.files.decide(card.id, 'accept');
    expect((await patchUpload(alice.api, card, 0, fileBytes)).status).toBe(204);
    fileId = card.id;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('holds every message acknowledged before it started, taken while 20 clients send', async () => {
    const clients: Client[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const { api } = await registerUser(server.url, `sender${i}`);
      clients.push(await connect(api));
    }
    // A reader holding an old snapshot (an export running, say) keeps every message sent after it
    // in the write-ahead log: a copy of parley.sqlite alone would hold none of them.
    const reader = new Database(join(server.dataDir, 'parley.sqlite'), { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM messages').get();
    let sending = true;
    const senders = clients.map(async (client, i) => {
      for (let n = 0; sending; n++) {
        const ack = await client.session.send(WORLD, `message ${n} from sender${i}`, `s${i}-${n}`);
        acked.push({ conv: ack.conv, seq: ack.seq, clientId: ack.clientId });
      }
    });
    while (acked.length < 300) await new Promise((resolve) => setTimeout(resolve, 20));

    ackedBeforeBackup = [...acked];
    backupFile = join(await tempDir('backup'), 'parley-backup.tar.gz');
    const backup = await parley(['backup', '--data', server.dataDir, backupFile]);
    const ackedDuringBackup = acked.length - ackedBeforeBackup.length;
    sending = false;
    await Promise.all(senders);
    for (const client of clients) client.close();
    reader.exec('COMMIT');
    reader.close();

    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/^Backed up 23 users, \d+ messages and 1 file cards/);
    // The clients did not stop for the backup: it ran while they sent.
    expect(ackedDuringBackup).toBeGreaterThan(0);

    restoredDir = join(await tempDir('restore'), 'data');
    const restored = await parley(['restore', '--data', restoredDir, backupFile]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('integrity check passed');

    const db = new Database(join(restoredDir, 'parley.sqlite'), { readonly: true });
    const stored = new Map((db.prepare('SELECT conv_id, seq, client_id FROM messages').all() as { conv_id: string; seq: number; client_id: string }[]).map((row) => [`${row.conv_id}/${row.seq}`, row.client_id]));
    db.close();
    const missing = ackedBeforeBackup.filter((message) => stored.get(`${message.conv}/${message.seq}`) !== message.clientId);
    expect(missing).toEqual([]);
    expect(stored.size).toBeGreaterThanOrEqual(ackedBeforeBackup.length);
  }, 180_000);

  it('restores a folder that a server starts on, where accounts log in and completed files download intact', async () => {
    const again = await startTestServer({ dataDir: restoredDir });
    try {
      const bob = new ParleyApi(again.url);
      await bob.login({ name: 'bob', password: PASSWORD });
      const response = await fetch(`${again.url}/api/files/${fileId}/content`, { headers: { authorization: `Bearer ${bob.token}` } });
      expect(response.status).toBe(200);
      expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(fileBytes));
      const world = await bob.history(WORLD, { limit: 1 });
      expect(world.messages).toHaveLength(1);
    } finally {
      await again.close();
    }
  }, 60_000);

  it('restores only into an empty folder, and says so', async () => {
    const full = await tempDir('full');
    await writeFile(join(full, 'notes.txt'), 'something that is not Parley\'s');
    const refused = await parley(['restore', '--data', full, backupFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not empty');
    expect(await readdir(full)).toEqual(['notes.txt']);
  }, 60_000);

  it('refuses a damaged backup and leaves the folder empty', async () => {
    const bytes = await readFile(backupFile);
    const damaged = Buffer.from(bytes);
    const middle = Math.floor(damaged.length / 2);
    damaged[middle] = damaged[middle]! ^ 0xff;
    const damagedFile = join(await tempDir('damaged'), 'damaged.tar.gz');
    await writeFile(damagedFile, damaged);
    const target = join(await tempDir('target'), 'data');
    const refused = await parley(['restore', '--data', target, damagedFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^parley: .*(damaged|does not match|not a)/);
    expect(await readdir(target)).toEqual([]);
  }, 60_000);

  it('exports every message once, users without password hashes, and counts that match', async () => {
    const exported = await parley(['export', '--data', server.dataDir]);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = records(exported.stdout);
    expect(lines[0]).toMatchObject({ type: 'export', format: 1, scope: 'server' });
    const messages = lines.filter((record) => record.type === 'message');
    // Every acknowledged message, plus the file offer's own message in the DM.
    expect(messages.filter((message) => message.conv === WORLD)).toHaveLength(acked.length);
    expect(new Set(messages.map((message) => `${message.conv}/${message.seq}`)).size).toBe(messages.length);
    const users = lines.filter((record) => record.type === 'user');
    expect(users).toHaveLength(23);
    expect(exported.stdout).not.toMatch(/password|\$argon2/);
    expect(lines.filter((record) => record.type === 'file')).toEqual([expect.objectContaining({ id: fileId, name: 'minutes.txt', state: 'completed', sha256: sha256(fileBytes) })]);
    expect(lines.at(-1)).toEqual({ type: 'end', counts: { users: 23, conversations: 2, messages: messages.length, files: 1 } });
  }, 60_000);
});

describe('parley backup of a server on PostgreSQL', () => {
  const url = 'postgres://parley:secret@db.internal:5432/parley';

  it('is refused, pointing at pg_dump, whether the database is given as --database or in the environment', async () => {
    const dir = await tempDir('pg-backup');
    const file = join(dir, 'parley-backup.tar.gz');
    for (const run of [await parley(['backup', '--database', url, file]), await parley(['backup', '--data', dir, file], { PARLEY_DATABASE_URL: url })]) {
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        'parley: parley backup copies a SQLite data folder; it cannot back up the PostgreSQL database postgres://parley:***@db.internal:5432/parley. ' +
          `Use pg_dump: pg_dump --format=custom --file=parley.dump '<url>' (docs/DEPLOYMENT.md, "Backups of PostgreSQL").\n`,
      );
    }
    expect(await readdir(dir)).toEqual([]);
  }, 60_000);

  it("points at pg_dump when the data folder holds no SQLite database (a PostgreSQL node's)", async () => {
    const dir = await tempDir('pg-node');
    const run = await parley(['backup', '--data', dir, join(dir, 'parley-backup.tar.gz')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${dir} holds no Parley database (parley.sqlite); is --data right? A server on PostgreSQL (--database) is backed up with pg_dump.`);
  }, 60_000);
});
