/**
 * The storage ceiling for `ingest`: the same count of message rows Parley committed, inserted
 * by the same statement into a database with Parley's schema and durability setting, in one
 * tight transaction (one fsync). Also 100 rows per commit, for context: what group commit
 * approaches when batches are that large. Runs on the server core, as Parley would.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Durability } from '../../src/server/storage/sqlite/open-database.ts';
import { benchTempDir } from '../lib/seed.ts';
import { serveRpc } from '../lib/rpc.ts';

export interface CeilingParams {
  rows: number;
  textLength: number;
  durability: Durability;
}

export interface CeilingResult {
  oneTransaction: { rows: number; ms: number; perSecond: number };
  hundredPerCommit: { rows: number; ms: number; perSecond: number };
}

function insertRows(durability: Durability, rows: number, textLength: number, perCommit: number) {
  const dir = benchTempDir('ceiling');
  const db = openDatabase(join(dir, 'parley.sqlite'), durability);
  const sender = Number(db.prepare("INSERT INTO users (name, name_key, password_hash, created_at) VALUES ('s', 's', 'x', 0)").run().lastInsertRowid);
  // Parley's own insert (src/server/storage/sqlite/sqlite-store.ts, insertMessage).
  const insert = db.prepare('INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES (?, ?, ?, ?, ?, ?)');
  const text = 'x'.repeat(textLength);
  const batch = db.transaction((from: number, to: number) => {
    for (let seq = from; seq < to; seq++) insert.run('world', seq, sender, `c${seq}`, text, Date.now());
  });
  const started = performance.now();
  for (let from = 1; from <= rows; from += perCommit) batch.immediate(from, Math.min(rows + 1, from + perCommit));
  const ms = performance.now() - started;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { rows, ms, perSecond: (rows * 1000) / ms };
}

serveRpc({
  run: ({ rows, textLength, durability }: CeilingParams): CeilingResult => {
    insertRows(durability, Math.min(rows, 2000), textLength, rows); // warm the page cache and the JIT
    return {
      oneTransaction: insertRows(durability, rows, textLength, rows),
      hundredPerCommit: insertRows(durability, Math.min(rows, 50_000), textLength, 100),
    };
  },
});
