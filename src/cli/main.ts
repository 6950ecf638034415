import { readFileSync } from 'node:fs';
import { ParleyClientError } from '../client/errors.ts';
import type { Command } from './command.ts';
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
    process.exitCode = report(error, wantsJson(argv));
  }
}

/** `--json` among the options (not in the text after `--`): errors are then JSON too. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

async function dispatch(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    // Asked for: stdout and success. Not asked for (no command): stderr and a usage error.
    if (name === undefined) {
      process.stderr.write(await overview());
      process.exitCode = 2;
    } else process.stdout.write(await overview());
    return;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`parley ${version()}\n`);
    return;
  }
  if (name === 'help') return dispatch(rest.length > 0 ? [rest[0]!, '--help'] : ['--help']);
  const command = await findCommand(name);
  if (!command) throw new UsageError(name.startsWith('-') ? `unknown option '${name}'; options go after the command` : `unknown command '${name}'`);
  await command.run(rest);
}

/**
 * `serve` is loaded alone: the server neither needs the client commands nor should hold them in
 * memory or spend its start-up compiling them (docs/PERFORMANCE.md, "Start-up and idle memory").
 */
async function findCommand(name: string): Promise<Command | undefined> {
  if (name === 'serve') return (await import('./commands/serve.ts')).serve;
  const { COMMANDS } = await import('./commands/index.ts');
  return COMMANDS.find((c) => c.name === name);
}

/**
 * Prints the error in one line (two for usage errors) and returns the exit code. Under --json it
 * is one JSON object on stderr, `{"error":{"code","message"}}` like the server's error bodies,
 * with the same exit code.
 */
function report(error: unknown, json: boolean): number {
  const failure = describeFailure(error);
  if (json) {
    const retry = failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs };
    process.stderr.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message, ...retry } })}\n`);
  } else {
    process.stderr.write(`parley: ${failure.text}\n`);
  }
  return failure.exitCode;
}

interface Failure {
  code: string;
  message: string;
  /** The line for a person: the message, with the server's code in front where there is one. */
  text: string;
  exitCode: number;
  retryAfterMs?: number;
}

function describeFailure(error: unknown): Failure {
  if (error instanceof UsageError) {
    const help = `Run 'parley ${error.command ? `${error.command} ` : ''}--help' for usage.`;
    return { code: error.code, message: `${error.message}. ${help}`, text: `${error.message}\n${help}`, exitCode: error.exitCode };
  }
  if (error instanceof CliError) return { code: error.code, message: error.message, text: error.message, exitCode: error.exitCode };
  if (error instanceof ParleyClientError) {
    const message = error.retryAfterMs ? withRetry(error.message, error.retryAfterMs) : error.message;
    return { code: error.code, message, text: `${error.code}: ${message}`, exitCode: 1, ...(error.retryAfterMs ? { retryAfterMs: error.retryAfterMs } : {}) };
  }
  const message = (error as Error)?.message ?? String(error);
  return { code: 'UNEXPECTED', message, text: `unexpected error: ${(error as Error)?.stack ?? String(error)}`, exitCode: 1 };
}

/** "Too many failed logins; try again in 4 min 55 s.": the wait said once, whether or not the server said it too. */
function withRetry(message: string, retryAfterMs: number): string {
  const base = message.replace(/[\s;,.]*try again in [^;]*$/i, '').replace(/[\s;,.]+$/, '');
  return `${base}; try again in ${waitText(retryAfterMs)}.`;
}

function waitText(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  return m % 60 === 0 ? `${Math.floor(m / 60)} h` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

async function overview(): Promise<string> {
  const [{ COMMANDS }, { DEFAULT_SERVER }] = await Promise.all([import('./commands/index.ts'), import('./command.ts')]);
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
