import { ParleyApi, ParleyClientError } from '../../client/index.ts';
import { clientCommand, requireUser } from '../command.ts';
import { printLine, sanitize } from '../output.ts';
import { signIn } from '../sign-in.ts';

export const logout = clientCommand({
  name: 'logout',
  summary: 'end the saved session',
  usage: 'parley logout --user <name> [options]',
  description: [
    'End the saved session on the server (its live connections close too) and forget its token.',
    'With --everywhere, end every session of the account on every device (a lost phone, a shared',
    'computer); this logs in first when the saved session has ended.',
  ].join('\n'),
  options: {
    everywhere: { type: 'boolean', description: 'end every session of the account, on every device' },
  },
  examples: ['parley logout --user alice', 'parley logout --user alice --everywhere'],
  async run(context) {
    const name = requireUser(context);
    if (context.values.everywhere) {
      const { api, me } = await signIn(context);
      await api.logoutEverywhere();
      await context.cache.delete(context.server, name);
      printLine(`Logged out ${sanitize(me.name)} everywhere on ${context.server}.`);
      return;
    }
    const cached = await context.cache.get(context.server, name);
    if (!cached) {
      printLine(`${name} is not logged in on ${context.server}.`);
      return;
    }
    try {
      await new ParleyApi(context.server, { token: cached.token }).logout();
    } catch (error) {
      // Already over on the server: forgetting the token is all that is left to do. Any other
      // failure keeps the token, so that a later logout can still revoke it.
      if (!(error instanceof ParleyClientError && error.code === 'UNAUTHENTICATED')) throw error;
    }
    await context.cache.delete(context.server, name);
    printLine(`Logged out ${sanitize(cached.user.name)} on ${context.server}.`);
  },
});
