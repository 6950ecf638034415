import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ParleyClientError } from '../../client/errors.ts';
import { FileApi } from '../../client/files.ts';
import { untilStored } from '../../client/store-retry.ts';
import { downloadFile } from '../../client/node-files.ts';
import type { FileCard, UserRef } from '../../protocol/index.ts';
import { clientCommand } from '../command.ts';
import { CliError, UsageError } from '../errors.ts';
import { FileCards } from '../file-cards.ts';
import { describeFile, formatTransfer, progressReporter } from '../file-progress.ts';
import { startLive } from '../live.ts';
import { storeWaitNotes } from '../store-wait.ts';
import { note, printJson, printLine, sanitize } from '../output.ts';
import { signIn } from '../sign-in.ts';

export const receive = clientCommand({
  name: 'receive',
  summary: 'list file offers to you, accept or decline them, and save the files',
  usage: 'parley receive [--accept-all [--wait] | --accept <id> | --decline <id>] [--out <dir>] [options]',
  description: [
    'Without an action, list the files offered to you and the transfers under way, then exit.',
    '--accept <id> or --accept-all accepts, waits for the sender\'s upload, downloads, checks size',
    'and SHA-256, and saves each file in --out (default: the current folder) under a safe version',
    'of its name, never overwriting (name (1).ext). A file is named only once its hash matched;',
    'until then it is a hidden .<id>.part, from which a later run resumes.',
    '--accept-all also picks up accepted files not yet saved; with --wait it keeps going, taking',
    'new offers as they come, until Ctrl-C.',
    'With --json, one JSON object per line: offer, accepted, progress, received, failed.',
  ].join('\n'),
  options: {
    'accept-all': { type: 'boolean', description: 'accept every offer to you and save the files' },
    accept: { type: 'string', value: '<id>', description: 'accept one offer and save the file' },
    decline: { type: 'string', value: '<id>', description: 'decline one offer' },
    wait: { type: 'boolean', description: 'with --accept-all: keep taking new offers until Ctrl-C' },
    out: { type: 'string', value: '<dir>', description: 'where to save files (default: the current folder)' },
    json: { type: 'boolean', description: 'one JSON object per event and line' },
  },
  examples: [
    'parley receive --user bob',
    'parley receive --user bob --accept-all --out ~/Downloads',
    'parley receive --user bob --accept-all --wait --json',
    'parley receive --user bob --decline 6o8HZrIW3v6oIYqkzxDCuQ',
  ],
  async run(context) {
    const { values } = context;
    const json = values.json === true;
    const actions = [values['accept-all'] === true, typeof values.accept === 'string', typeof values.decline === 'string'].filter(Boolean);
    if (actions.length > 1) throw new UsageError('choose one of --accept-all, --accept and --decline', context.command);
    if (values.wait && !values['accept-all']) throw new UsageError('--wait goes with --accept-all', context.command);
    const { api, me } = await signIn(context);
    const files = new FileApi(api);

    if (typeof values.decline === 'string') {
      const card = await files.decide(values.decline, 'decline');
      if (json) printJson({ type: 'declined', file: card });
      else printLine(`Declined ${describeFile(card)} from ${sanitize(card.from.name)}.`);
      return;
    }
    const mine = (await untilStored(() => files.list({ state: 'all' }), storeWaitNotes('reading your files', 'read them'))).filter((card) => card.to.id === me.id);
    if (actions.length === 0) {
      const open = mine.filter((card) => card.state === 'offered' || card.state === 'accepted');
      for (const card of open) {
        if (json) printJson({ type: 'offer', file: card });
        else printLine(`${card.state === 'offered' ? 'offered ' : 'uploading'} ${describeFile(card)} from ${sanitize(card.from.name)}`);
      }
      if (!json && open.length === 0) note('No files are waiting for you.');
      return;
    }

    const out = resolve(typeof values.out === 'string' ? values.out : '.');
    await mkdir(out, { recursive: true });
    if (!(await stat(out)).isDirectory()) throw new CliError(`--out ${out} is not a folder.`);
    const { session, ready } = startLive(api, { reconnect: true });
    const cards = new FileCards(session, files);
    const receiver = new Receiver(files, cards, me, out, json);
    try {
      await ready;
      if (typeof values.accept === 'string') {
        const accept = values.accept;
        const card = await untilStored(() => files.get(accept), storeWaitNotes('reading the file', 'read it'));
        if (card.to.id !== me.id) throw new CliError(`${describeFile(card)} is not offered to you.`);
        await receiver.take(cards.update(card));
        if (receiver.failures > 0) process.exitCode = 1;
        return;
      }
      // Everything waiting now (read again: the session is live, so no change slips between):
      // new offers, and accepted or completed files not yet saved.
      const now = (await untilStored(() => files.list({ state: 'all' }), storeWaitNotes('reading your files', 'read them'))).filter((card) => card.to.id === me.id);
      const pending = now.filter((card) => card.state === 'offered' || card.state === 'accepted' || (card.state === 'completed' && card.deliveredAt === undefined));
      const work = pending.map((card) => receiver.take(cards.update(card)));
      if (values.wait) {
        cards.onChange((card) => {
          if (card.to.id === me.id && card.state === 'offered') work.push(receiver.take(card));
        });
        session.on('message', (message) => message.file && cards.update(message.file));
        if (!json) note('Waiting for files; Ctrl-C to stop.');
        await new Promise<void>((stop) => {
          process.once('SIGINT', () => stop());
          process.once('SIGTERM', () => stop());
        });
      }
      await Promise.all(work);
      if (!json && work.length === 0) note('No files are waiting for you.');
      if (receiver.failures > 0) process.exitCode = 1;
    } finally {
      session.close();
    }
  },
});

/** Takes files one decision at a time; downloads run as each upload completes. */
class Receiver {
  failures = 0;
  private readonly taken = new Set<string>();

  constructor(
    private readonly files: FileApi,
    private readonly cards: FileCards,
    private readonly me: UserRef,
    private readonly out: string,
    private readonly json: boolean,
  ) {}

  async take(card: FileCard): Promise<void> {
    if (this.taken.has(card.id) || card.to.id !== this.me.id) return;
    this.taken.add(card.id);
    try {
      if (this.json) printJson({ type: 'offer', file: card });
      if (card.state === 'offered') {
        // Waits out the database like a message. An answer lost with the database may hide an
        // accept that was stored: the next try then finds the file accepted, which is the same.
        const id = card.id;
        const accepted = await untilStored(() => this.files.decide(id, 'accept'), storeWaitNotes('accepting the file', 'accepted it')).catch(async (error: unknown) => {
          if (!(error instanceof ParleyClientError && error.code === 'FILE_STATE')) throw error;
          const now = await this.files.get(id);
          if (now.state !== 'accepted' && now.state !== 'completed') throw error;
          return now;
        });
        card = this.cards.update(accepted);
        if (this.json) printJson({ type: 'accepted', file: card });
        else note(`Accepted ${describeFile(card)} from ${sanitize(card.from.name)}; waiting for the upload…`);
      }
      const complete = await this.cards.until(card.id, (c) => c.state !== 'accepted');
      if (complete.state !== 'completed') throw new CliError(`The transfer of ${describeFile(complete)} ended: ${complete.state}${complete.error ? ` (${complete.error})` : ''}.`);
      const started = Date.now();
      const result = await downloadFile(this.files, complete, this.out, { onProgress: progressReporter('received', card.id, this.json) });
      const seconds = (Date.now() - started) / 1000;
      if (this.json) printJson({ type: 'received', file: complete, path: result.path, bytes: complete.size, seconds, resumedAt: result.resumedAt, sha256: complete.sha256 });
      else printLine(`Received ${formatTransfer(complete.size, seconds)}: ${result.path} (SHA-256 verified).`);
    } catch (error) {
      this.failures++;
      const code = error instanceof ParleyClientError ? error.code : 'FAILED';
      if (this.json) printJson({ type: 'failed', id: card.id, code, message: (error as Error).message });
      else note(`parley: ${describeFile(card)}: ${(error as Error).message}`);
    }
  }
}
