import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';

export type Durability = 'full' | 'normal';

/**
 * Opens (creating if needed) the database in WAL mode and brings its schema up to date.
 * See docs/ARCHITECTURE.md, "Durability", for what each synchronous setting promises.
 */
export function openDatabase(file: string, durability: Durability = 'full'): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `The database schema (version ${current}) is newer than this Parley (version ${MIGRATIONS.length}); upgrade Parley.`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    const migration = MIGRATIONS[version]!;
    const { sql, rebuildsTables } = typeof migration === 'string' ? { sql: migration, rebuildsTables: false } : migration;
    // foreign_keys cannot change inside a transaction, so it is switched around it.
    if (rebuildsTables) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(sql);
        if (rebuildsTables && (db.pragma('foreign_key_check') as unknown[]).length > 0) {
          throw new Error(`Migration ${version + 1} would break a foreign key; nothing was changed.`);
        }
        db.pragma(`user_version = ${version + 1}`);
      })();
    } finally {
      if (rebuildsTables) db.pragma('foreign_keys = ON');
    }
  }
}
