import type { ConversationId } from '../protocol/conversations.ts';
import { storeRetryDelay } from './store-retry.ts';

/**
 * The read positions this client asked the server to store, until the server's `read` frame
 * says they are (it comes back to every session of the user, this one too). A `read` frame has
 * no ref, so a STORE_UNAVAILABLE refusal cannot say which position it was: all that are not yet
 * confirmed go again, quietly (a read position is nothing to show an error for), after the same
 * growing waits as sends (store-retry.ts). Only the newest position per conversation is kept, and
 * nothing new is written while a retry waits, so a user scrolling through an outage costs the
 * server one frame per conversation per wait, not one per message read.
 */
export class ReadPositions {
  private readonly wanted = new Map<ConversationId, number>();
  private retry: ReturnType<typeof setTimeout> | null = null;
  /** Refusals in a row: the waits grow with them; back to 0 once a position is confirmed. */
  private waits = 0;

  constructor(
    /** Writes one `read` frame if the session is online (and drops it if not: `resend` follows the next sync). */
    private readonly write: (conv: ConversationId, seq: number) => void,
    private readonly random?: () => number,
  ) {}

  /**
   * The user read `conv` up to `seq`: sent now as asked (the server never moves a position back),
   * unless a retry is waiting; then only the newest position is kept, to go with the retry.
   */
  mark(conv: ConversationId, seq: number): void {
    if (seq > (this.wanted.get(conv) ?? -1)) this.wanted.set(conv, seq);
    if (!this.retry) this.write(conv, seq);
  }

  /** The server stored a read position of `conv` (from this device or another). */
  confirmed(conv: ConversationId, seq: number): void {
    const wanted = this.wanted.get(conv);
    if (wanted === undefined || seq < wanted) return;
    this.wanted.delete(conv);
    this.waits = 0;
  }

  /** The user is no longer in `conv`: its position is nothing to store any more. */
  forget(conv: ConversationId): void {
    this.wanted.delete(conv);
  }

  /** The server could not store a read (its database is away): one quiet retry of them all, later. */
  refused(retryAfterMs: number | undefined): void {
    if (this.retry) return;
    const wait = storeRetryDelay(retryAfterMs, this.waits++, this.random);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.resend();
    }, wait);
  }

  /** Writes every position not yet confirmed (after a retry's wait, or once a new connection is synced). */
  resend(): void {
    if (this.retry) return;
    for (const [conv, seq] of this.wanted) this.write(conv, seq);
  }

  stop(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.wanted.clear();
    this.waits = 0;
  }
}
