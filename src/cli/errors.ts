/**
 * A failure the CLI reports in one line, then exits with `exitCode`. `code` is stable, for
 * scripts reading `--json` errors: the server's error codes, NETWORK, or one of the CLI's own.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly code = 'FAILED',
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The command line itself is wrong: exit 2, and point at the command's help. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message, 2, 'USAGE');
    this.name = 'UsageError';
  }
}

/** The server did not answer at all: say which address was tried and what to check. */
export function unreachable(server: string, reason: string): CliError {
  return new CliError(
    `cannot reach ${server} (${reason}). Check that the server is running and that --server or PARLEY_SERVER gives its address.`,
    1,
    'NETWORK',
  );
}
