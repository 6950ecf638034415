import { MAX_TEXT_CODE_POINTS } from '../../protocol/index.ts';
import { clientCommand } from '../command.ts';
import { UsageError } from '../errors.ts';
import { newClientId } from '../../client/session.ts';
import { sendUntilStored } from '../../client/store-retry.ts';
import { printJson, printLine } from '../output.ts';
import { signIn } from '../sign-in.ts';
import { storeWaitNotes } from '../store-wait.ts';
import { resolveTarget, targetOption } from '../target.ts';

export const send = clientCommand({
  name: 'send',
  summary: 'send a message to the world chat, a user or a room',
  usage: "parley send --to world|<user>|'#<room>' [options] [--] <text...>",
  description: [
    'Send one message and wait until the server has stored it; print where it went and its',
    `sequence number. The words after the options are joined with spaces (at most ${MAX_TEXT_CODE_POINTS} characters).`,
    'Put -- before text that starts with "-". Exits non-zero with the server\'s error code if refused.',
    'While the server cannot reach its database, signing in and the message wait for it: the message',
    'is sent again (same client id, stored once) until it is stored; Ctrl-C gives up, and then',
    'nothing was stored.',
  ].join('\n'),
  options: {
    to: { type: 'string', value: 'world|<user>|#<room>', description: 'the world chat, a user by name (@name for a user called "world"), or one of your rooms by name or id' },
    json: { type: 'boolean', description: 'print the acknowledgement as one JSON line' },
  },
  takesArguments: true,
  examples: [
    'parley send --user alice --to world "hello, everyone"',
    'PARLEY_USER=alice parley send --to bob see you at five',
    'parley send --user alice --to bob -- -5 degrees outside',
    "parley send --user alice --to '#book club' see you on Friday",
  ],
  async run(context) {
    const to = targetOption(context, 'to');
    const text = context.positionals.join(' ');
    if (text.trim() === '') throw new UsageError('give the text of the message after the options', context.command);
    const { api, me } = await signIn(context);
    const target = await resolveTarget(api, me, to);
    // Over HTTP rather than a live session, so sending does not flash you online to everyone.
    const ack = await sendUntilStored(api, target.conv, text, newClientId(), storeWaitNotes('sending', 'the message went through'));
    if (context.values.json) printJson({ conv: ack.conv, seq: ack.seq, ts: ack.ts, clientId: ack.clientId });
    else printLine(`Sent to ${target.label} (conv ${ack.conv}, seq ${ack.seq}).`);
  },
});
