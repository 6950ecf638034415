import { clientCommand, requireUser } from '../command.ts';
import { printLine } from '../output.ts';
import { logIn } from '../sign-in.ts';

export const login = clientCommand({
  name: 'login',
  summary: 'log in and save the session',
  usage: 'parley login --user <name> [options]',
  description: [
    'Log in and save the session token for this server and user, replacing any saved one.',
    'Other commands log in by themselves when needed; use this to enter the password once.',
    'The password comes from PARLEY_PASSWORD, or is asked for without echo.',
  ].join('\n'),
  options: {},
  examples: ['parley login --user alice', 'parley login --server https://chat.example.org --user alice'],
  async run(context) {
    const { me } = await logIn(context, requireUser(context));
    printLine(`Logged in as ${me.name} on ${context.server}.`);
  },
});
