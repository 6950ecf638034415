import { ParleyApi, ParleyClientError } from '../../client/index.ts';
import { clientCommand, requireUser } from '../command.ts';
import { printLine } from '../output.ts';

export const logout = clientCommand({
  name: 'logout',
  summary: 'end the saved session',
  usage: 'parley logout --user <name> [options]',
  description: 'End the saved session on the server (its live connections close too) and forget its token.',
  options: {},
  examples: ['parley logout --user alice'],
  async run(context) {
    const name = requireUser(context);
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
    printLine(`Logged out ${cached.user.name} on ${context.server}.`);
  },
});
