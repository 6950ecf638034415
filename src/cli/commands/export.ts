import { createWriteStream, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { operatorCommand } from '../operator-command.ts';
import { CliError } from '../errors.ts';

export const exportCommand = operatorCommand({
  name: 'export',
  summary: 'write the whole server as NDJSON (users, conversations, messages, file metadata)',
  usage: 'parley export [--data <dir>] [--out <file>]',
  description: [
    'Write everything the server holds as NDJSON, one JSON object per line: users (without',
    'password hashes), conversations with their members, messages, and file metadata, then an',
    '"end" line with the counts. Reads one consistent snapshot; safe while the server runs.',
    'The format is in docs/DEPLOYMENT.md.',
  ].join('\n'),
  options: { out: ['<file>', 'write to this file instead of standard output'] },
  argumentCount: 0,
  examples: ['parley export --data /var/lib/parley > parley.ndjson', "parley export | jq -c 'select(.type == \"message\")'"],
  async run({ dataDir, values }) {
    const { exportLines } = await import('../../server/backup/export.ts');
    const { DATABASE_FILE } = await import('../../server/backup/data-folder.ts');
    const database = join(dataDir, DATABASE_FILE);
    if (!existsSync(database)) throw new CliError(`${dataDir} holds no Parley database (${DATABASE_FILE}); is --data right?`);
    const out = typeof values.out === 'string' ? createWriteStream(resolve(values.out), { mode: 0o600 }) : process.stdout;
    await pipeline(Readable.from(exportLines(database, { kind: 'server' })), out);
  },
});
