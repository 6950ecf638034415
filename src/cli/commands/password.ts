import { clientCommand } from '../command.ts';
import { printJson, printLine, sanitize } from '../output.ts';
import { obtainPassword } from '../password.ts';
import { signIn } from '../sign-in.ts';

export const password = clientCommand({
  name: 'password',
  summary: 'change your password',
  usage: 'parley password --user <name> [options]',
  description: [
    'Change the account\'s password. The current password comes from PARLEY_PASSWORD, or is asked',
    'for without echo; the new one from PARLEY_NEW_PASSWORD, or is asked for twice without echo.',
    'It follows the registration rules (at least 8 characters, not a common one). Every other',
    'session of the account ends, on every device; the saved one here goes on.',
  ].join('\n'),
  options: {
    json: { type: 'boolean', description: 'print the result as one JSON line ({"changed":true,"user":{…}}); errors as JSON on stderr' },
  },
  examples: ['parley password --user alice', 'PARLEY_PASSWORD=... PARLEY_NEW_PASSWORD=... parley password --user alice --json'],
  async run(context) {
    // The saved session, or a login when it has ended: the change needs a session and the current password.
    const { api, me } = await signIn(context);
    const currentPassword = await obtainPassword(context.env, `Current password for ${sanitize(me.name)}: `);
    const newPassword = await obtainPassword(context.env, 'New password: ', { confirm: true, variable: 'PARLEY_NEW_PASSWORD' });
    await api.changePassword({ currentPassword, newPassword });
    if (context.values.json) printJson({ changed: true, user: me });
    else printLine(`Changed the password of ${sanitize(me.name)} on ${context.server}; every other session of the account has ended.`);
  },
});
