import type { ErrorCode } from '../protocol/index.ts';

/** An error the server answered with: a stable code (translate it), its message, and when to retry. */
export class ParleyClientError extends Error {
  constructor(
    readonly code: ErrorCode | 'NETWORK' | 'DISCONNECTED',
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ParleyClientError';
  }
}
