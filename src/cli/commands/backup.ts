import { resolve } from 'node:path';
import { operatorCommand } from '../operator-command.ts';
import { DATABASE_OPTION, postgresUrl } from '../database-option.ts';
import { CliError } from '../errors.ts';
import { printLine } from '../output.ts';
import { formatBytes, formatSecondsFigure } from '../../lib/units.ts';

export const backup = operatorCommand({
  name: 'backup',
  summary: 'write a consistent backup of the data folder, also while the server runs',
  usage: 'parley backup [--data <dir>] <file>',
  description: [
    'Write the database (one consistent snapshot), the transferred files and the certificates of a',
    'data folder into one archive (.tar.gz). Safe while the server runs: never copy parley.sqlite',
    'of a running server yourself, the newest messages are still in its write-ahead log.',
  ].join('\n'),
  options: { database: [DATABASE_OPTION[0], 'refused: a server on PostgreSQL is backed up with pg_dump (docs/DEPLOYMENT.md)'] },
  argumentCount: 1,
  examples: ['parley backup --data /var/lib/parley /backups/parley-$(date +%F).tar.gz'],
  async run({ dataDir, values, args }) {
    // Accepted only to be refused clearly: a copy of the data folder would miss every user and message.
    const url = postgresUrl(values, 'backup');
    if (url !== null) {
      const { redactedUrl } = await import('../../server/storage/open-store.ts');
      throw new CliError(
        `parley backup copies a SQLite data folder; it cannot back up the PostgreSQL database ${redactedUrl(url)}. ` +
          `Use pg_dump: pg_dump --format=custom --file=parley.dump '<url>' (docs/DEPLOYMENT.md, "Backups of PostgreSQL").`,
      );
    }
    const { BackupError, createBackup } = await import('../../server/backup/backup.ts');
    const file = resolve(args[0]!);
    const started = Date.now();
    try {
      const { manifest, bytes } = await createBackup(dataDir, file);
      const { users, messages, files } = manifest.counts;
      printLine(
        `Backed up ${users} users, ${messages} messages and ${files} file cards (${manifest.entries.length - 1} blobs and certificates) ` +
          `to ${file}: ${formatBytes(bytes)} in ${formatSecondsFigure((Date.now() - started) / 1000)} s.`,
      );
    } catch (error) {
      if (error instanceof BackupError) throw new CliError(error.message);
      throw error;
    }
  },
});
