import type { Database } from './database.ts';
import { MIGRATIONS } from './migrations.ts';

/** Any fixed number: the advisory lock that lets one node at a time bring the schema up to date. */
const MIGRATION_LOCK = 0x7061726c; // 'parl'

/**
 * Brings the schema up to date in one transaction, under an advisory lock so that nodes starting
 * together migrate once. Refuses a database whose schema is newer than this code: an older node
 * must not write into tables it does not understand.
 */
export async function migrate(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query('CREATE TABLE IF NOT EXISTS parley_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await tx.query<{ version: number | null }>('SELECT max(version) AS version FROM parley_schema');
    const current = rows[0]?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `The PostgreSQL schema (version ${current}) is newer than this Parley (version ${MIGRATIONS.length}); upgrade Parley.`,
      );
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      await tx.query(MIGRATIONS[version]!);
      await tx.query('INSERT INTO parley_schema (version) VALUES ($1)', [version + 1]);
    }
  });
}
