import { CliError } from './errors.ts';

/**
 * The password from PARLEY_PASSWORD, else asked on the terminal without echo. It is never a
 * flag: command lines end up in shell history and in `ps` output for every local user to read.
 */
export async function obtainPassword(
  env: NodeJS.ProcessEnv,
  prompt: string,
  options: { confirm?: boolean; variable?: 'PARLEY_PASSWORD' | 'PARLEY_NEW_PASSWORD' } = {},
): Promise<string> {
  const variable = options.variable ?? 'PARLEY_PASSWORD';
  if (env[variable]) return env[variable];
  if (!process.stdin.isTTY) {
    throw new CliError(`A password is needed: set ${variable}, or run this in a terminal to be asked for it.`, 1, 'PASSWORD_NEEDED');
  }
  const password = await readHidden(prompt);
  if (options.confirm && (await readHidden('Repeat the password: ')) !== password) {
    throw new CliError('The two passwords differ; nothing was changed.');
  }
  return password;
}

/** Reads one line from the terminal in raw mode, echoing nothing. */
function readHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (settle: () => void) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      settle();
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish(() => resolve(value));
        // Raw mode turns Ctrl-C into a character instead of a signal, so it is honoured here.
        if (char === '\u0003') return finish(() => reject(new CliError('Interrupted.', 130, 'INTERRUPTED')));
        if (char === '\u0004' && value === '') return finish(() => reject(new CliError('No password given.')));
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    input.on('data', onData);
  });
}
