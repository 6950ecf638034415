import { ParleyApi } from '../../client/index.ts';
import { clientCommand, requireUser } from '../command.ts';
import { printLine } from '../output.ts';
import { obtainPassword } from '../password.ts';
import { answers } from '../sign-in.ts';

export const register = clientCommand({
  name: 'register',
  summary: 'create an account and log in',
  usage: 'parley register --user <name> [options]',
  description: [
    'Create an account on the server and save its session, so later commands need no password.',
    'A name is 1-32 letters of one script, digits, "_", "-" or ".", not starting with ".";',
    'a password at least 8 characters, not a common one.',
    'The password comes from PARLEY_PASSWORD, or is asked for twice without echo.',
  ].join('\n'),
  options: {},
  examples: ['parley register --user alice', 'PARLEY_PASSWORD=... parley register --server https://chat.example.org --user 小明'],
  async run(context) {
    const name = requireUser(context);
    const api = new ParleyApi(context.server);
    await answers(api);
    const password = await obtainPassword(context.env, `Choose a password for ${name}: `, { confirm: true });
    const { user, token } = await api.register({ name, password });
    await context.cache.put(context.server, name, user, token, api.deviceToken);
    printLine(`Registered ${user.name} on ${context.server}; you are logged in.`);
  },
});
