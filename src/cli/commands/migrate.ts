import { operatorCommand } from '../operator-command.ts';
import { CliError, UsageError } from '../errors.ts';
import { printLine } from '../output.ts';

export const migrateCommand = operatorCommand({
  name: 'migrate',
  summary: 'copy a single-node install into an empty PostgreSQL database',
  usage: 'parley migrate --from <dir> --to postgres://…',
  description: [
    'Copy everything a single-node Parley stores in its data folder (users, sessions, conversations,',
    'messages with their seqs, read positions, rooms, memberships, file cards) into an EMPTY PostgreSQL',
    'database, in one transaction, and check the counts. Stop the server first: what it stores after',
    'the copy began is not copied. Then serve with --database <url> and the same --data folder',
    '(transferred files stay there).',
  ].join('\n'),
  options: {
    from: ['<dir>', 'the data folder to copy (same as --data)'],
    to: ['<url>', 'the PostgreSQL database (env PARLEY_DATABASE_URL), e.g. postgres://parley:secret@db/parley'],
  },
  argumentCount: 0,
  examples: ['parley migrate --from /var/lib/parley --to postgres://parley@db.example.org/parley'],
  async run({ dataDir, values }) {
    const { MigrateError, migrateToPostgres } = await import('../../server/backup/migrate-to-postgres.ts');
    const { redactedUrl } = await import('../../server/storage/open-store.ts');
    const { resolve } = await import('node:path');
    const from = typeof values.from === 'string' ? resolve(values.from) : dataDir;
    const to = typeof values.to === 'string' ? values.to : process.env.PARLEY_DATABASE_URL;
    if (!to || !/^postgres(ql)?:\/\//.test(to)) throw new UsageError('--to takes the PostgreSQL URL to copy into (postgres://…)', 'migrate');
    try {
      const counts = await migrateToPostgres(from, to);
      printLine(
        `Copied ${counts.users} users, ${counts.sessions} sessions, ${counts.conversations} conversations, ${counts.messages} messages, ` +
          `${counts.memberships} memberships and ${counts.files} file cards from ${from} into ${redactedUrl(to)}; every count checked.`,
      );
      printLine(`Serve it with: parley serve --database <url> --data ${from}`);
    } catch (error) {
      if (error instanceof MigrateError) throw new CliError(error.message);
      throw error;
    }
  },
});
