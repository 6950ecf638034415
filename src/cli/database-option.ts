import { UsageError } from './errors.ts';

/** `--database` of an operator command, as `parley serve` takes it. */
export const DATABASE_OPTION: [string, string] = ['<url>', 'the PostgreSQL database (env PARLEY_DATABASE_URL), as for parley serve; without it, SQLite in --data'];

/**
 * The PostgreSQL database an operator command was pointed at (`--database`, else the
 * environment a server on PostgreSQL is started with), or null for SQLite in the data folder.
 */
export function postgresUrl(values: Record<string, string | boolean | undefined>, command: string): string | null {
  const url = typeof values.database === 'string' ? values.database : process.env.PARLEY_DATABASE_URL || '';
  if (url === '') return null;
  if (!/^postgres(ql)?:\/\//.test(url) || !URL.canParse(url)) {
    throw new UsageError('--database takes a PostgreSQL URL such as postgres://parley:secret@db.example.org/parley (leave it out for SQLite in --data)', command);
  }
  return url;
}
