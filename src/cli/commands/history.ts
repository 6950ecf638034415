import { HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX } from '../../protocol/index.ts';
import { clientCommand, integerOption } from '../command.ts';
import { formatMessage, note, printJson, printLine } from '../output.ts';
import { signIn } from '../sign-in.ts';
import { resolveTarget, targetOption } from '../target.ts';

export const history = clientCommand({
  name: 'history',
  summary: 'print the messages of a conversation',
  usage: "parley history --with world|<user>|'#<room>' [--limit N] [--before SEQ] [--json] [options]",
  description: [
    'Print a page of a conversation, oldest first: the newest messages, or those before a',
    'sequence number. With --json, each message is one JSON object per line.',
  ].join('\n'),
  options: {
    with: { type: 'string', value: 'world|<user>|#<room>', description: 'the world chat, your conversation with a user, or one of your rooms' },
    limit: { type: 'string', value: '<N>', description: `how many messages, 1-${HISTORY_PAGE_MAX} (default ${HISTORY_PAGE_DEFAULT})` },
    before: { type: 'string', value: '<SEQ>', description: 'only messages with a sequence number below SEQ (older pages)' },
    json: { type: 'boolean', description: 'one JSON object per message and line' },
  },
  examples: [
    'parley history --user alice --with world',
    "parley history --user alice --with '#book club' --limit 20",
    'parley history --user alice --with bob --limit 10 --before 120',
    "parley history --user alice --with world --json | jq -r '.text'",
  ],
  async run(context) {
    const withWhom = targetOption(context, 'with');
    const limit = integerOption(context, 'limit', 1, HISTORY_PAGE_MAX);
    const before = integerOption(context, 'before', 1, Number.MAX_SAFE_INTEGER);
    const { api, me } = await signIn(context);
    const target = await resolveTarget(api, me, withWhom);
    const page = await api.history(target.conv, { ...(limit ? { limit } : {}), ...(before ? { before } : {}) });
    for (const message of page.messages) {
      if (context.values.json) printJson(message);
      else printLine(formatMessage(message));
    }
    if (context.values.json) return;
    if (page.messages.length === 0) note(`No messages with ${target.label}${before ? ` before #${before}` : ''}.`);
    else if (page.hasMore) note(`Older messages: parley history --with ${withWhom} --before ${page.messages[0]!.seq}`);
  },
});
