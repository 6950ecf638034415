/**
 * `parley restore <file>`: a backup back into an empty data folder (the server stopped), and
 * checked before it is called restored: every entry matches the manifest's size and SHA-256,
 * SQLite's integrity and foreign-key checks pass, the schema is one this Parley can open, and
 * every completed file's blob has the size and SHA-256 its card announced. A restore that fails
 * a check removes what it wrote, so a half-restored folder is never served.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../storage/sqlite/migrations.ts';
import { BackupError, countsOf } from './backup.ts';
import { BACKUP_FORMAT, BACKUP_VERSION, BLOBS_DIR, DATABASE_FILE, MANIFEST_FILE, isRestorableName, type BackupManifest } from './data-folder.ts';
import { TarFormatError, readTar } from './tar.ts';

/** A manifest lists every entry; even a million files keep it well under this. */
const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

export interface RestoreResult {
  manifest: BackupManifest;
  counts: BackupManifest['counts'];
  /** Completed files whose bytes the backup did not hold (deleted by retention while it ran). */
  missingBlobs: string[];
}

interface Restored {
  size: number;
  sha256: string;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

async function extract(archive: string, dataDir: string): Promise<{ restored: Map<string, Restored>; manifest: BackupManifest }> {
  const restored = new Map<string, Restored>();
  let manifestText: string | null = null;
  const gunzip = createReadStream(archive).pipe(createGunzip());
  for await (const entry of readTar(gunzip)) {
    if (entry.type !== '0' || !isRestorableName(entry.name)) {
      throw new BackupError(`${archive} holds "${entry.name}", which is not part of a Parley backup`);
    }
    if (restored.has(entry.name) || (entry.name === MANIFEST_FILE && manifestText !== null)) {
      throw new BackupError(`${archive} holds "${entry.name}" twice`);
    }
    if (entry.name === MANIFEST_FILE) {
      if (entry.size > MAX_MANIFEST_BYTES) throw new BackupError(`${archive}: the manifest is too large to be one`);
      const chunks: Buffer[] = [];
      for await (const chunk of entry.body) chunks.push(chunk);
      manifestText = Buffer.concat(chunks).toString('utf8');
      continue;
    }
    const path = join(dataDir, entry.name);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const hash = createHash('sha256');
    // Owner read-write at most, and others read at most (a certificate); never executable.
    const file = createWriteStream(path, { mode: entry.mode & 0o644 || 0o600, flush: true });
    await pipeline(
      entry.body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      },
      file,
    );
    restored.set(entry.name, { size: entry.size, sha256: hash.digest('hex') });
  }
  if (manifestText === null) throw new BackupError(`${archive} has no manifest (${MANIFEST_FILE}): not a Parley backup, or cut short`);
  return { restored, manifest: parseManifest(manifestText, archive) };
}

function parseManifest(text: string, archive: string): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(text) as BackupManifest;
  } catch {
    throw new BackupError(`${archive}: the manifest is not JSON`);
  }
  if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.entries)) throw new BackupError(`${archive} is not a Parley backup`);
  if (manifest.version > BACKUP_VERSION) {
    throw new BackupError(`${archive} is a version ${manifest.version} backup, newer than this Parley reads (${BACKUP_VERSION}); upgrade Parley`);
  }
  return manifest;
}

function checkEntries(manifest: BackupManifest, restored: Map<string, Restored>): void {
  const listed = new Set<string>();
  for (const { name, size, sha256 } of manifest.entries) {
    listed.add(name);
    const got = restored.get(name);
    if (!got) throw new BackupError(`the backup lists ${name}, but it is not in the archive`);
    if (got.size !== size || got.sha256 !== sha256) throw new BackupError(`${name} does not match the backup's manifest (damaged archive)`);
  }
  for (const name of restored.keys()) if (!listed.has(name)) throw new BackupError(`${name} is in the archive but not in its manifest`);
  if (!restored.has(DATABASE_FILE)) throw new BackupError(`the backup holds no database (${DATABASE_FILE})`);
}

/** SQLite's own checks, then every completed file's blob against its card. */
function checkDatabase(dataDir: string, restored: Map<string, Restored>): { counts: BackupManifest['counts']; missingBlobs: string[] } {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check') as { integrity_check: string }[];
    if (integrity.length !== 1 || integrity[0]!.integrity_check !== 'ok') {
      throw new BackupError(`the database fails SQLite's integrity check: ${integrity.map((row) => row.integrity_check).slice(0, 5).join('; ')}`);
    }
    if ((db.pragma('foreign_key_check') as unknown[]).length > 0) throw new BackupError('the database fails SQLite\'s foreign key check');
    const schema = db.pragma('user_version', { simple: true }) as number;
    if (schema > MIGRATIONS.length) {
      throw new BackupError(`the database has schema version ${schema}, newer than this Parley (${MIGRATIONS.length}); restore it with a newer Parley`);
    }
    const completed = db.prepare(`SELECT id, size, sha256 FROM files WHERE state = 'completed'`).all() as { id: string; size: number; sha256: string }[];
    const missingBlobs: string[] = [];
    for (const file of completed) {
      const blob = restored.get(`${BLOBS_DIR}/${file.id}`);
      if (!blob) missingBlobs.push(file.id);
      else if (blob.size !== file.size || blob.sha256 !== file.sha256) {
        throw new BackupError(`file ${file.id}: its bytes do not match the size and SHA-256 of its card`);
      }
    }
    return { counts: countsOf(db), missingBlobs };
  } finally {
    db.close();
  }
}

export async function restoreBackup(archive: string, dataDir: string): Promise<RestoreResult> {
  if (!(await isEmptyOrMissing(dataDir))) {
    throw new BackupError(`${dataDir} is not empty: a backup is restored into an empty folder (stop the server, then restore into a new folder)`);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    const { restored, manifest } = await extract(archive, dataDir);
    checkEntries(manifest, restored);
    const { counts, missingBlobs } = checkDatabase(dataDir, restored);
    return { manifest, counts, missingBlobs };
  } catch (error) {
    for (const entry of await readdir(dataDir)) await rm(join(dataDir, entry), { recursive: true, force: true });
    if (error instanceof TarFormatError) throw new BackupError(`${archive}: ${error.message}`);
    if ((error as { code?: string }).code === 'Z_DATA_ERROR' || (error as { code?: string }).code === 'Z_BUF_ERROR') {
      throw new BackupError(`${archive} is not a gzip-compressed Parley backup, or it is damaged`);
    }
    throw error;
  }
}
