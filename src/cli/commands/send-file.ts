import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { FileApi } from '../../client/files.ts';
import { hashFile, uploadFile } from '../../client/node-files.ts';
import { newClientId } from '../../client/session.ts';
import { untilStored } from '../../client/store-retry.ts';
import { WORLD, type FileCard } from '../../protocol/index.ts';
import { clientCommand } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { FileCards } from '../file-cards.ts';
import { describeFile, formatBytes, formatTransfer, progressReporter } from '../file-progress.ts';
import { startLive } from '../live.ts';
import { note, printJson, printLine } from '../output.ts';
import { signIn } from '../sign-in.ts';
import { storeWaitNotes } from '../store-wait.ts';
import { resolveTarget, targetOption } from '../target.ts';

export const sendFile = clientCommand({
  name: 'send-file',
  summary: 'offer a file to a user and send it once accepted',
  usage: 'parley send-file --to <user> [options] <path>',
  description: [
    'Hash the file (SHA-256), offer it to the user, wait for them to accept or decline, then',
    'upload it with a progress line; the server and the recipient check size and SHA-256.',
    'Run it again after an interruption (network, Ctrl-C, a server restart): an open offer of',
    'the same file to the same user is picked up and the upload resumes where it stopped.',
    'Exits 0 once the server has verified the file, 1 if it was declined, cancelled, expired or failed.',
    'With --json, one JSON object per line: offered, accepted, progress, sent (or the error).',
  ].join('\n'),
  options: {
    to: { type: 'string', value: '<user>', description: 'who gets the file' },
    type: { type: 'string', value: '<media-type>', description: 'declared media type, shown to the recipient (default: none)' },
    json: { type: 'boolean', description: 'one JSON object per event and line' },
  },
  takesArguments: true,
  examples: ['parley send-file --user alice --to bob report.pdf', 'parley send-file --to bob --json backup.tar | jq -c .'],
  async run(context) {
    const to = targetOption(context, 'to');
    if (to === WORLD) throw new UsageError('files go to one person: --to <user>', context.command);
    const [path, ...extra] = context.positionals;
    if (!path || extra.length > 0) throw new UsageError('give exactly one file to send', context.command);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new CliError(`"${path}" is not a readable file.`);
    const json = context.values.json === true;
    const { api, me } = await signIn(context);
    const target = await resolveTarget(api, me, to);
    const files = new FileApi(api);

    if (!json) note(`Hashing ${path} (${formatBytes(info.size)})…`);
    const { sha256, size } = await hashFile(path);
    const name = basename(path);
    // Both are safe to repeat (a read, and an offer with its client id), so they wait while the
    // server cannot reach its database, as a message does, instead of failing after the hashing.
    const open = (await untilStored(() => files.list({ conv: target.conv, state: 'open' }), storeWaitNotes('looking for an open offer', 'looked'))).find(
      (card) => card.from.id === me.id && card.sha256 === sha256 && card.size === size && card.name === name,
    );
    const offer = { conv: target.conv, clientId: newClientId(), name, size, sha256, type: typeOption(context.values.type) };
    const offered = open ?? (await untilStored(() => files.offer(offer), storeWaitNotes('offering the file', 'the file was offered'))).file;
    if (json) printJson({ type: open ? 'resumed' : 'offered', file: offered });
    else note(open ? `Resuming the open offer of ${describeFile(offered)} to ${target.label}.` : `Offered ${describeFile(offered)} to ${target.label}.`);

    const { session, ready } = startLive(api, { reconnect: true });
    const cards = new FileCards(session, files);
    try {
      await ready;
      // A decision may have come before the session was live.
      cards.update(await untilStored(() => files.get(offered.id), storeWaitNotes('reading the offer', 'read it')));
      if (cards.get(offered.id)!.state === 'offered' && !json) note(`Waiting for ${target.label} to accept or decline… (Ctrl-C stops waiting; the offer stays open)`);
      const decided = await cards.until(offered.id, (card) => card.state !== 'offered');
      if (decided.state !== 'accepted' && decided.state !== 'completed') throw ended(decided);
      if (json) printJson({ type: 'accepted', file: decided });
      else note(`${target.label} accepted. Uploading…`);

      const abort = new AbortController();
      // The recipient may cancel mid-way: stop sending at once.
      cards.onChange((card) => card.id === offered.id && card.state !== 'accepted' && card.state !== 'completed' && abort.abort());
      const started = Date.now();
      const result = await uploadFile(files, decided, path, {
        onProgress: progressReporter('sent', offered.id, json),
        signal: abort.signal,
      }).catch((error) => {
        const card = cards.get(offered.id);
        if (abort.signal.aborted && card) throw ended(card);
        throw error;
      });
      const seconds = (Date.now() - started) / 1000;
      if (result.file.state !== 'completed') throw ended(result.file);
      if (json) {
        printJson({ type: 'sent', file: result.file, bytes: size, seconds, resumedAt: result.resumedAt, sentThisRun: result.sent, sha256 });
      } else {
        const resumed = result.resumedAt > 0 ? ` (resumed at ${formatBytes(result.resumedAt)}; ${formatBytes(result.sent)} sent this time)` : '';
        printLine(`Sent ${formatTransfer(size, seconds)}${resumed}; the server verified SHA-256 ${sha256}.`);
      }
    } finally {
      session.close();
    }
  },
});

function typeOption(value: string | boolean | undefined): string {
  return typeof value === 'string' ? value : '';
}

function ended(card: FileCard): CliError {
  const why = card.state === 'failed' && card.error ? ` (${card.error})` : '';
  return new CliError(`The transfer of ${describeFile(card)} ended: ${card.state}${why}.`);
}
