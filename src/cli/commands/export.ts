import { createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { operatorCommand } from '../operator-command.ts';
import { DATABASE_OPTION, postgresUrl } from '../database-option.ts';
import { CliError } from '../errors.ts';

export const exportCommand = operatorCommand({
  name: 'export',
  summary: 'write the whole server as NDJSON (users, conversations, messages, file metadata)',
  usage: 'parley export [--data <dir> | --database <url>] [--out <file>]',
  description: [
    'Write everything the server holds as NDJSON, one JSON object per line: users (without',
    'password hashes), conversations with their members, messages, and file metadata, then an',
    '"end" line with the counts. Reads one consistent snapshot, of the SQLite database in --data or',
    'of the PostgreSQL database of --database; safe while the server runs. The format is in',
    'docs/DEPLOYMENT.md.',
  ].join('\n'),
  options: { database: DATABASE_OPTION, out: ['<file>', 'write to this file instead of standard output'] },
  argumentCount: 0,
  examples: [
    'parley export --data /var/lib/parley > parley.ndjson',
    "parley export --database 'postgres://parley:secret@db.internal/parley' --out parley.ndjson",
    "parley export | jq -c 'select(.type == \"message\")'",
  ],
  async run({ dataDir, values }) {
    const { exportLines } = await import('../../server/backup/export.ts');
    // Opened once the database is known to be there: a wrong --data or --database leaves no empty file behind.
    const out = (): Writable => (typeof values.out === 'string' ? createWriteStream(resolve(values.out), { mode: 0o600 }) : process.stdout);
    const url = postgresUrl(values, 'export');
    if (url === null) {
      const { sqliteExportSnapshots } = await import('../../server/backup/sqlite-export.ts');
      const { DATABASE_FILE } = await import('../../server/backup/data-folder.ts');
      const database = join(dataDir, DATABASE_FILE);
      if (!existsSync(database)) throw new CliError(`${dataDir} holds no Parley database (${DATABASE_FILE}); is --data right? (A server on PostgreSQL is exported with --database.)`);
      await pipeline(Readable.from(exportLines(sqliteExportSnapshots(database), { kind: 'server' })), out());
      return;
    }
    const [{ Database }, { postgresExportSnapshots, unexportableReason }, { redactedUrl }] = await Promise.all([
      import('../../server/storage/postgres/database.ts'),
      import('../../server/backup/postgres-export.ts'),
      import('../../server/storage/open-store.ts'),
    ]);
    const db = new Database(url, 1);
    try {
      const reason = await unexportableReason(db).catch((error: unknown) => `it cannot be read (${(error as Error).message})`);
      if (reason) throw new CliError(`Cannot export the PostgreSQL database ${redactedUrl(url)}: ${reason}.`);
      await pipeline(Readable.from(exportLines(postgresExportSnapshots(db), { kind: 'server' })), out()).catch((error: unknown) => {
        throw new CliError(`The export of ${redactedUrl(url)} stopped: ${(error as Error).message}. What was written has no "end" line: it is incomplete.`);
      });
    } finally {
      await db.close();
    }
  },
});
