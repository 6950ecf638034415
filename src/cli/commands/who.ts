import { clientCommand } from '../command.ts';
import { startLive } from '../live.ts';
import { printJson, printLine } from '../output.ts';
import { signIn } from '../sign-in.ts';

export const who = clientCommand({
  name: 'who',
  summary: 'list the users online now',
  usage: 'parley who [--json] [options]',
  description: 'Connect briefly and print who is online, one name per line (you are among them while it runs).',
  options: {
    json: { type: 'boolean', description: 'one JSON object ({"id","name"}) per user and line' },
  },
  examples: ['parley who --user alice', 'parley who --user alice --json'],
  async run(context) {
    const { api } = await signIn(context);
    const { session, ready } = startLive(api, { reconnect: false });
    try {
      const { online } = await ready;
      for (const user of [...online].sort((a, b) => a.name.localeCompare(b.name))) {
        if (context.values.json) printJson(user);
        else printLine(user.name);
      }
    } finally {
      session.close();
    }
  },
});
