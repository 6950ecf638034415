import { clientCommand } from '../command.ts';
import { note, printJson, printLine, sanitize } from '../output.ts';
import { signIn } from '../sign-in.ts';

export const who = clientCommand({
  name: 'who',
  summary: 'list the users online now',
  usage: 'parley who [--json] [options]',
  description: [
    'Print who is online now, one name per line (asking does not make you appear online);',
    'says so on stderr when nobody (else) is.',
  ].join('\n'),
  options: {
    json: { type: 'boolean', description: 'one JSON object ({"id","name"}) per user and line' },
  },
  examples: ['parley who --user alice', 'parley who --user alice --json'],
  async run(context) {
    const { api, me } = await signIn(context);
    const { online } = await api.online();
    for (const user of [...online].sort((a, b) => a.name.localeCompare(b.name))) {
      if (context.values.json) printJson(user);
      else printLine(sanitize(user.name));
    }
    // On stderr, so a script reading the names gets none rather than a sentence.
    if (!context.values.json && !online.some((user) => user.id !== me.id)) note(online.length === 0 ? 'Nobody is online now.' : 'Nobody else is online now.');
  },
});
