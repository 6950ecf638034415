import { resolve } from 'node:path';
import { operatorCommand } from '../operator-command.ts';
import { CliError } from '../errors.ts';
import { note, printLine } from '../output.ts';

export const restore = operatorCommand({
  name: 'restore',
  summary: 'restore a backup into an empty data folder, and check it',
  usage: 'parley restore [--data <dir>] <file>',
  description: [
    'Restore a backup made by parley backup into an empty (or new) data folder, with the server',
    'stopped, then check it: every entry against the backup\'s manifest, SQLite\'s integrity and',
    'foreign key checks, and every completed file against its size and SHA-256. A restore that',
    'fails a check removes what it wrote and exits 1.',
  ].join('\n'),
  options: {},
  argumentCount: 1,
  examples: ['parley restore --data /var/lib/parley-restored /backups/parley-2026-11-30.tar.gz'],
  async run({ dataDir, args }) {
    const { BackupError } = await import('../../server/backup/backup.ts');
    const { restoreBackup } = await import('../../server/backup/restore.ts');
    try {
      const { counts, manifest, missingBlobs } = await restoreBackup(resolve(args[0]!), dataDir);
      printLine(
        `Restored the backup of ${manifest.createdAt} into ${dataDir}: ${counts.users} users, ${counts.messages} messages, ` +
          `${counts.files} file cards; integrity check passed.`,
      );
      if (missingBlobs.length > 0) {
        note(`Note: ${missingBlobs.length} completed files were deleted while the backup ran (retention); they read as no longer available.`);
      }
    } catch (error) {
      if (error instanceof BackupError) throw new CliError(error.message);
      throw error;
    }
  },
});
