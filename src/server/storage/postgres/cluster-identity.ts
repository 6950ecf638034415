import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/**
 * Which cluster a PostgreSQL database is (node-registry.ts, docs/ARCHITECTURE.md "One cluster:
 * how nodes know"): the id its nodes announce on Redis, and how a copy of the database is told
 * from the database itself.
 */

/** The database this node runs on, to tell a copy of it (pg_dump and restore, CREATE DATABASE … TEMPLATE) from itself. */
export type DatabaseHome = { oid: string; systemId: string | null };

/**
 * Which database this is: its oid, and the PostgreSQL server's system identifier (a copy made by
 * pg_basebackup or a standby shares it; null where the role may not read it). Outside the
 * registration's transaction, which a denied pg_control_system() would abort.
 */
export async function databaseHome(client: pg.PoolClient): Promise<DatabaseHome> {
  const oid = (await client.query<{ oid: string }>('SELECT oid::text AS oid FROM pg_database WHERE datname = current_database()')).rows[0]!.oid;
  const systemId = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()').then(
    (answer) => answer.rows[0]?.id ?? null,
    () => null,
  );
  return { oid, systemId };
}

/**
 * This database's cluster id: a random UUID made by the first clustered node to start on it (so a
 * database `parley migrate` filled gets one then), kept in `parley_cluster` (one row). A database
 * copied from another (pg_dump and pg_restore, CREATE DATABASE … TEMPLATE) carries the other's
 * row, but not its oid (nor, on another server, its system identifier): it is another cluster, and
 * gets an id of its own, so that a copy (a test copy of the live database, say) started on the
 * same Redis is refused as well. A standby promoted, or the same database restored by
 * pg_basebackup, keeps both, and its id.
 */
export async function clusterIdOf(client: pg.PoolClient, home: DatabaseHome): Promise<{ id: string; renewed: boolean }> {
  await client.query(`CREATE TABLE IF NOT EXISTS parley_cluster (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), id uuid NOT NULL, database_oid oid NOT NULL,
    system_identifier text, created_at timestamptz NOT NULL DEFAULT now())`);
  const row = (
    await client.query<{ id: string; database_oid: string; system_identifier: string | null }>(
      'SELECT id::text AS id, database_oid::text AS database_oid, system_identifier FROM parley_cluster',
    )
  ).rows[0];
  const copied =
    row !== undefined &&
    (row.database_oid !== home.oid || (row.system_identifier !== null && home.systemId !== null && row.system_identifier !== home.systemId));
  if (row && !copied) return { id: row.id, renewed: false };
  const id = randomUUID();
  await client.query(
    `INSERT INTO parley_cluster (id, database_oid, system_identifier) VALUES ($1, $2, $3)
     ON CONFLICT (singleton) DO UPDATE SET id = EXCLUDED.id, database_oid = EXCLUDED.database_oid,
       system_identifier = EXCLUDED.system_identifier, created_at = now()`,
    [id, home.oid, home.systemId],
  );
  return { id, renewed: copied };
}
