/**
 * What a data folder holds, as backups see it: the database, the file blobs, and the folders of
 * certificates and keys the server made for itself. Anything else in it is not Parley's.
 */
import { FILE_ID_PATTERN } from '../../protocol/index.ts';

export const DATABASE_FILE = 'parley.sqlite';
export const BLOBS_DIR = 'files';
/** Folders kept whole: the self-signed certificate (tls/) and the ACME account and certificates (acme/). */
export const KEPT_DIRS = ['tls', 'acme'] as const;
/** The last entry of a backup: what it holds, with each entry's size and SHA-256. */
export const MANIFEST_FILE = 'parley-backup.json';
export const BACKUP_FORMAT = 'parley-backup';
export const BACKUP_VERSION = 1;

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  /** The Parley that wrote it. */
  parley: string;
  createdAt: string;
  /** PRAGMA user_version of the database: how many migrations it has. */
  schemaVersion: number;
  counts: { users: number; conversations: number; messages: number; files: number };
  entries: { name: string; size: number; sha256: string }[];
}

const KEPT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Whether a restore may write this archive entry: only names a backup writes, never a path that escapes. */
export function isRestorableName(name: string): boolean {
  if (name === DATABASE_FILE || name === MANIFEST_FILE) return true;
  const [dir, file, ...rest] = name.split('/');
  if (rest.length > 0 || file === undefined) return false;
  if (dir === BLOBS_DIR) return FILE_ID_PATTERN.test(file.replace(/\.part$/, ''));
  return (KEPT_DIRS as readonly string[]).includes(dir!) && KEPT_NAME.test(file);
}
