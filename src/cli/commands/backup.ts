import { resolve } from 'node:path';
import { operatorCommand } from '../operator-command.ts';
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
  options: {},
  argumentCount: 1,
  examples: ['parley backup --data /var/lib/parley /backups/parley-$(date +%F).tar.gz'],
  async run({ dataDir, args }) {
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
