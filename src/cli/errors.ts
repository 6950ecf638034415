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
  // A TLS refusal is an answer of sorts: the server runs, but this machine does not trust it.
  const check = /certificate|CERT_|SSL|TLS/i.test(reason)
    ? "Check the certificate's fingerprint with the server's operator, then trust it with NODE_EXTRA_CA_CERTS (see the README)."
    : 'Check that the server is running and that --server or PARLEY_SERVER gives its address.';
  return new CliError(`cannot reach ${server} (${reason}). ${check}`, 1, 'NETWORK');
}
