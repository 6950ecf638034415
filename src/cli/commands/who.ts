import { clientCommand } from '../command.ts';
import { printJson, printLine } from '../output.ts';
import { signIn } from '../sign-in.ts';

export const who = clientCommand({
  name: 'who',
  summary: 'list the users online now',
  usage: 'parley who [--json] [options]',
  description: 'Print who is online now, one name per line (asking does not make you appear online).',
  options: {
    json: { type: 'boolean', description: 'one JSON object ({"id","name"}) per user and line' },
  },
  examples: ['parley who --user alice', 'parley who --user alice --json'],
  async run(context) {
    const { api } = await signIn(context);
    const { online } = await api.online();
    for (const user of [...online].sort((a, b) => a.name.localeCompare(b.name))) {
      if (context.values.json) printJson(user);
      else printLine(user.name);
    }
  },
});
