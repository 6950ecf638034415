import type Database from 'better-sqlite3';
import type { NameKeys } from '../store.ts';

/**
 * Re-keys the users migration 3 left with no skeleton (created under the old rules), inside the
 * caller's transaction. Their old keys are set aside first, so that of two accounts that now
 * share a key the older one gets it whichever held it before; the younger gets `legacy:<id>`,
 * a key no name produces, and still logs in by its exact name (Store.userByName).
 */
export function upgradeNameKeys(db: Database.Database, keysOf: NameKeys): number {
  const pending = db.prepare("SELECT id, name FROM users WHERE name_skeleton = '' ORDER BY id").all() as { id: number; name: string }[];
  if (pending.length === 0) return 0;
  db.prepare("UPDATE users SET name_key = 'rekey:' || id WHERE name_skeleton = ''").run();
  const taken = db.prepare('SELECT 1 FROM users WHERE name_key = ?');
  const update = db.prepare('UPDATE users SET name_key = ?, name_skeleton = ? WHERE id = ?');
  for (const { id, name } of pending) {
    const { nameKey, skeleton } = keysOf(name);
    update.run(taken.get(nameKey) ? `legacy:${id}` : nameKey, skeleton, id);
  }
  return pending.length;
}
