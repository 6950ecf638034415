import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/server/storage/sqlite/open-database.ts';
import type { BenchUser } from './targets.ts';

/**
 * Fair setup, not the measured path: users, sessions and history are written straight into a
 * Parley data folder's SQLite file with the server's own schema (its migrations run through its
 * own openDatabase), in one transaction, before the server starts. Registering 10,000 users
 * through the API would cost 10,000 argon2id hashes (about 27 ms each) and measure nothing the
 * scenarios are about; the `login` scenario measures hashing on purpose.
 */

export const DB_FILE = 'parley.sqlite';

export interface SeedOptions {
  users: number;
  /** A PHC string every seeded user gets (a real argon2id hash when logins are measured). */
  passwordHash: string;
  /** World messages to preload. */
  messages?: number;
  /** Each user's read position in the world chat, given the preloaded count. */
  readSeq?: (userIndex: number, messages: number) => number;
  textLength?: number;
}

export interface Seeded {
  dir: string;
  users: BenchUser[];
  messages: number;
}

export function benchTempDir(label: string): string {
  const root = join(tmpdir(), 'parley-bench');
  mkdirSync(root, { recursive: true });
  return mkdtempSync(join(root, `${label}-`));
}

export function seedDataDir(dir: string, options: SeedOptions): Seeded {
  mkdirSync(dir, { recursive: true });
  const db = openDatabase(join(dir, DB_FILE), 'normal');
  const messages = options.messages ?? 0;
  const users: BenchUser[] = [];
  const now = Date.now();
  const insertUser = db.prepare('INSERT INTO users (name, name_key, password_hash, created_at) VALUES (?, ?, ?, ?)');
  const insertMembership = db.prepare("INSERT INTO memberships (user_id, conv_id, read_seq) VALUES (?, 'world', ?)");
  const insertSession = db.prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)');
  const insertMessage = db.prepare('INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < options.users; i++) {
      const name = `u${i + 1}`;
      const id = Number(insertUser.run(name, name, options.passwordHash, now).lastInsertRowid);
      const token = randomBytes(32).toString('base64url');
      insertSession.run(createHash('sha256').update(token).digest(), id, now, now + 7 * 24 * 3600 * 1000);
      insertMembership.run(id, options.readSeq ? options.readSeq(i, messages) : messages);
      users.push({ id, name, token });
    }
    if (messages > 0) {
      const filler = 'The quick brown fox jumps over the lazy dog; '.repeat(4).slice(0, options.textLength ?? 64);
      const start = now - messages * 1000;
      for (let seq = 1; seq <= messages; seq++) {
        const sender = users[seq % users.length]!;
        insertMessage.run('world', seq, sender.id, `p${seq}`, `${seq} ${filler}`, start + seq * 1000);
      }
      db.prepare("UPDATE conversations SET last_seq = ? WHERE id = 'world'").run(messages);
    }
  })();
  db.close();
  return { dir, users, messages };
}

/** A fresh data folder holding a copy of a seeded one's database. */
export function copyDataDir(seeded: Seeded, label: string): string {
  const dir = benchTempDir(label);
  copyFileSync(join(seeded.dir, DB_FILE), join(dir, DB_FILE));
  return dir;
}
