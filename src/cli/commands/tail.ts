import { untilStored, type ChatSession, type ParleyApi } from '../../client/index.ts';
import type { ConversationSummary, FileCard, UserRef } from '../../protocol/index.ts';
import { clientCommand, requireUser, type Context } from '../command.ts';
import { formatSecondsFigure } from '../../lib/units.ts';
import { CliError } from '../errors.ts';
import { startLive } from '../live.ts';
import { storeWaitNotes } from '../store-wait.ts';
import { formatFileCard, formatMessage, note, printJson, printLine, sanitize } from '../output.ts';
import { currentUser, logIn, signIn } from '../sign-in.ts';

export const tail = clientCommand({
  name: 'tail',
  summary: 'stream live messages and events until Ctrl-C',
  usage: 'parley tail [--json] [options]',
  description: [
    'Stay connected and print what happens as it happens: messages in every conversation you',
    'belong to, users coming online and going offline, new conversations. Reconnects by itself',
    'and prints what was missed meanwhile. Stop with Ctrl-C.',
    'A file offer shows as "[file]" with its name, size and state, and again when its state changes.',
    'With --json, each event is one JSON object per line with a "type": welcome (on every',
    '(re)connect: me, online), message, file (a file card changed), presence, conversation, read,',
    'gap, error, state (when the connection state changes).',
  ].join('\n'),
  options: {
    json: { type: 'boolean', description: 'one JSON object per event and line' },
  },
  examples: ['parley tail --user alice', "parley tail --user alice --json | jq -r 'select(.type == \"message\") | .text'"],
  async run(context) {
    const { api, me } = await signIn(context);
    // Starting the cursors at each conversation's last message means: nothing old is replayed
    // now, and after a reconnect exactly what was missed is.
    const { conversations } = await untilStored(() => api.conversations(), storeWaitNotes('reading your conversations', 'read them'));
    const labels = new Map(conversations.map((c) => [c.id, labelOf(c)]));
    const cursors = Object.fromEntries(conversations.map((c) => [c.id, c.lastSeq]));
    const { session, ready } = startLive(api, { reconnect: true, cursors });
    const json = context.values.json === true;
    let welcomed = false;
    session.on('welcome', ({ online }) => {
      if (json) printJson({ type: 'welcome', me, online });
      else if (!welcomed) note(`Connected to ${context.server} as ${sanitize(me.name)}. ${othersOnline(online, me)} Ctrl-C to stop.`);
      welcomed = true;
    });
    // The state each file was last shown in: a card that comes again unchanged (a replay after a
    // reconnect, an upload's byte count moving) is not printed again.
    const fileStates = new Map<string, FileCard['state']>();
    session.on('message', (message) => {
      if (message.file) fileStates.set(message.file.id, message.file.state);
      if (json) printJson({ type: 'message', ...message });
      else printLine(`[${labels.get(message.conv) ?? message.conv}] ${formatMessage(message)}`);
    });
    session.on('file', (card) => {
      if (fileStates.get(card.id) === card.state) return;
      fileStates.set(card.id, card.state);
      if (json) printJson({ type: 'file', file: card });
      else printLine(`[${labels.get(card.conv) ?? card.conv}] * ${formatFileCard(card)} (from ${sanitize(card.from.name)} to ${sanitize(card.to.name)})`);
    });
    session.on('presence', (changes) => {
      for (const { user, online } of changes) {
        if (json) printJson({ type: 'presence', user, online });
        // Your own connection coming and going is no news to you.
        else if (user.id !== me.id) printLine(`* ${sanitize(user.name)} ${online ? 'is online' : 'went offline'}`);
      }
    });
    session.on('conversation', (conversation) => {
      labels.set(conversation.id, labelOf(conversation));
      if (json) printJson({ type: 'conversation', ...conversation });
      else printLine(conversation.room ? `* you are now in ${labelOf(conversation)}` : `* new conversation with ${labelOf(conversation)}`);
    });
    session.on('read', (frame) => json && printJson(frame));
    session.on('gap', (frame) => {
      if (json) printJson(frame);
      else note(`* more was missed in ${labels.get(frame.conv) ?? frame.conv} than is replayed; see parley history.`);
    });
    session.on('error', (frame) => (json ? printJson(frame) : note(`parley: ${frame.code}: ${frame.message}`)));
    await ready;
    await followUntilStopped(context, api, session, json);
  },
});

function othersOnline(online: UserRef[], me: UserRef): string {
  const others = online.filter((user) => user.id !== me.id).map((user) => sanitize(user.name));
  return others.length === 0 ? 'Nobody else is online.' : `Online: ${others.join(', ')}.`;
}

function labelOf(conversation: ConversationSummary): string {
  if (conversation.room) return `#${sanitize(conversation.room.name)}`;
  return conversation.peer ? `@${sanitize(conversation.peer.name)}` : conversation.id;
}

/** Resolves on Ctrl-C or SIGTERM; fails when the session ends for good or its login cannot be renewed. */
function followUntilStopped(context: Context, api: ParleyApi, session: ChatSession, json: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    let checking = false;
    const end = (error?: Error) => {
      stopping = true;
      session.close();
      if (error) reject(error);
      else resolve();
    };
    // A reconnect that keeps failing may mean the token expired: renew it while the session
    // waits, because every new attempt reads api.token afresh.
    const renewLogin = async () => {
      if (checking) return;
      checking = true;
      try {
        if ((await currentUser(api)) === null) await logIn(context, requireUser(context), api);
      } catch (error) {
        if ((error as { code?: string }).code !== 'NETWORK') end(error as Error);
      } finally {
        checking = false;
      }
    };
    // One outage is many attempts (each says "reconnecting"): it is told once when it starts and
    // once when it ends.
    let shown: string = 'online';
    let lostAt: number | null = null;
    session.on('state', ({ state, closeCode, reason }) => {
      if (stopping) return;
      if (state !== shown) {
        shown = state;
        if (json) printJson({ type: 'state', state, ...(closeCode === undefined ? {} : { closeCode }), ...(reason ? { reason } : {}) });
      }
      if (state === 'reconnecting' && lostAt === null) {
        lostAt = Date.now();
        if (!json) note('* connection lost; reconnecting…');
      }
      if (state === 'online' && lostAt !== null) {
        if (!json) note(`* connected again after ${formatSecondsFigure((Date.now() - lostAt) / 1000)} s.`);
        lostAt = null;
      }
      if (state === 'reconnecting') void renewLogin();
      if (state === 'closed') end(new CliError(`The session ended${reason ? `: ${reason}` : ''}.`));
    });
    process.once('SIGINT', () => end());
    process.once('SIGTERM', () => end());
  });
}
