import { readFileSync } from 'node:fs';
import { ParleyClientError } from '../client/index.ts';
import { DEFAULT_SERVER } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { CliError, UsageError } from './errors.ts';

/** `parley <command> [options]`; sets process.exitCode: 0 done, 1 refused or failed, 2 bad usage. */
export async function main(argv: string[]): Promise<void> {
  // `parley history --json | head` closes the pipe early; that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  try {
    await dispatch(argv);
  } catch (error) {
    process.exitCode = report(error);
  }
}

async function dispatch(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    // Asked for: stdout and success. Not asked for (no command): stderr and a usage error.
    if (name === undefined) {
      process.stderr.write(overview());
      process.exitCode = 2;
    } else process.stdout.write(overview());
    return;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`parley ${version()}\n`);
    return;
  }
  if (name === 'help') return dispatch(rest.length > 0 ? [rest[0]!, '--help'] : ['--help']);
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(name.startsWith('-') ? `unknown option '${name}'; options go after the command` : `unknown command '${name}'`);
  await command.run(rest);
}

/** Prints the error in one line (two for usage errors) and returns the exit code. */
function report(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`parley: ${error.message}\nRun 'parley ${error.command ? `${error.command} ` : ''}--help' for usage.\n`);
    return error.exitCode;
  }
  if (error instanceof CliError) {
    process.stderr.write(`parley: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof ParleyClientError) {
    const retry = error.retryAfterMs ? ` (try again in ${Math.ceil(error.retryAfterMs / 1000)} s)` : '';
    process.stderr.write(`parley: ${error.code}: ${error.message}${retry}\n`);
    return 1;
  }
  process.stderr.write(`parley: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `Usage: parley <command> [options]

Parley's command-line client and server.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}

Run 'parley <command> --help' for a command's options and examples.

Environment:
  PARLEY_SERVER    the server for client commands (default ${DEFAULT_SERVER})
  PARLEY_USER      your user name, instead of --user
  PARLEY_PASSWORD  your password, instead of being asked for it
  Sessions are saved in $XDG_CONFIG_HOME/parley/sessions.json (else ~/.config/parley/),
  readable by you only.

Examples:
  parley serve
  parley register --user alice
  parley send --user alice --to world "hello, everyone"
  parley history --user alice --with world
  parley tail --user alice
`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
