/**
 * `parley backup <file>`: one archive (.tar.gz) of a data folder, consistent while the server
 * runs. The database is copied with `VACUUM INTO`, which reads one snapshot in one transaction:
 * every message acknowledged before the backup started is in it (acknowledged means committed),
 * and no half-committed batch is. Copying the database file instead would miss what is still in
 * the write-ahead log. The file blobs that snapshot refers to are added after it, each read up
 * to the size it had when listed, then the certificate folders, then a manifest with the size
 * and SHA-256 of every entry, which `parley restore` checks.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import Database from 'better-sqlite3';
import { BACKUP_FORMAT, BACKUP_VERSION, BLOBS_DIR, DATABASE_FILE, KEPT_DIRS, MANIFEST_FILE, type BackupManifest } from './data-folder.ts';
import { TAR_END, tarBuffer, tarFile } from './tar.ts';
import { parleyVersion } from '../version.ts';

export class BackupError extends Error {}

interface Source {
  name: string;
  path: string;
  size: number;
  mode: number;
  mtimeMs: number;
}

export interface BackupResult {
  manifest: BackupManifest;
  bytes: number;
}

/** Counts of what a database holds, read from one connection (a snapshot or a restored copy). */
export function countsOf(db: Database.Database): BackupManifest['counts'] {
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { users: count('users'), conversations: count('conversations'), messages: count('messages'), files: count('files') };
}

/** Copies the database as one consistent snapshot into `target`. */
function snapshot(databaseFile: string, target: string): void {
  const db = new Database(databaseFile, { fileMustExist: true });
  try {
    // A writer holding the lock for a moment (a group commit) is waited for, not an error.
    db.pragma('busy_timeout = 10000');
    db.prepare('VACUUM INTO ?').run(target);
  } finally {
    db.close();
  }
}

/** The blobs the snapshot refers to, as they are on disk now. */
async function blobSources(dataDir: string, db: Database.Database): Promise<Source[]> {
  const rows = db.prepare(`SELECT id, state FROM files WHERE state IN ('offered', 'accepted', 'completed')`).all() as { id: string; state: string }[];
  const sources: Source[] = [];
  for (const { id, state } of rows) {
    // A completed file is sealed (files/<id>); an upload under way is files/<id>.part, unless it
    // was sealed after the snapshot: then its whole blob stands in for the part.
    const names = state === 'completed' ? [id] : [`${id}.part`, id];
    for (const candidate of names) {
      const path = join(dataDir, BLOBS_DIR, candidate);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile()) continue;
      const name = `${BLOBS_DIR}/${state === 'completed' ? id : `${id}.part`}`;
      sources.push({ name, path, size: info.size, mode: 0o600, mtimeMs: info.mtimeMs });
      break;
    }
  }
  return sources;
}

async function keptSources(dataDir: string): Promise<Source[]> {
  const sources: Source[] = [];
  for (const dir of KEPT_DIRS) {
    const entries = await readdir(join(dataDir, dir), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(dataDir, dir, entry.name);
      const info = await stat(path);
      sources.push({ name: `${dir}/${entry.name}`, path, size: info.size, mode: info.mode & 0o777, mtimeMs: info.mtimeMs });
    }
  }
  return sources;
}

export async function createBackup(dataDir: string, outFile: string): Promise<BackupResult> {
  const databaseFile = join(dataDir, DATABASE_FILE);
  if (!existsSync(databaseFile)) {
    throw new BackupError(`${dataDir} holds no Parley database (${DATABASE_FILE}); is --data right? A server on PostgreSQL (--database) is backed up with pg_dump.`);
  }
  // The snapshot is staged beside the archive (same disk, no /tmp size limits) and removed after.
  const staging = await mkdtemp(join(dirname(outFile), `.${basename(outFile)}.`));
  const partial = `${outFile}.partial`;
  try {
    const copy = join(staging, DATABASE_FILE);
    snapshot(databaseFile, copy);
    const db = new Database(copy, { readonly: true });
    let manifest: BackupManifest;
    let sources: Source[];
    try {
      const copyInfo = await stat(copy);
      sources = [
        { name: DATABASE_FILE, path: copy, size: copyInfo.size, mode: 0o600, mtimeMs: copyInfo.mtimeMs },
        ...(await blobSources(dataDir, db)),
        ...(await keptSources(dataDir)),
      ];
      manifest = {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        parley: parleyVersion(),
        createdAt: new Date().toISOString(),
        schemaVersion: db.pragma('user_version', { simple: true }) as number,
        counts: countsOf(db),
        entries: [],
      };
    } finally {
      db.close();
    }

    async function* archive(): AsyncGenerator<Buffer> {
      for (const source of sources) {
        const hash = createHash('sha256');
        yield* tarFile(source.name, source.path, source.size, source.mode, source.mtimeMs, hash);
        manifest.entries.push({ name: source.name, size: source.size, sha256: hash.digest('hex') });
      }
      yield* tarBuffer(MANIFEST_FILE, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
      yield TAR_END;
    }
    await pipeline(archive, createGzip(), createWriteStream(partial, { mode: 0o600, flush: true }));
    await rename(partial, outFile);
    return { manifest, bytes: (await stat(outFile)).size };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}
