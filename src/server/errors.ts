import { ERRORS, type ErrorCode } from '../protocol/index.ts';

/**
 * The one exception the domain throws for anything a client did or may retry. It carries a
 * stable code from the catalogue; HTTP maps it to a status, the gateway to an error frame.
 */
export class ParleyError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs: number | undefined;

  /** `cause`: the lower-level failure behind it (a driver's error), for logs and operators; never sent to a client. */
  constructor(code: ErrorCode, message: string = ERRORS[code].message, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ParleyError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}
