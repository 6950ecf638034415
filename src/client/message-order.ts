import type { ConversationId } from '../protocol/conversations.ts';
import type { Message } from '../protocol/frames.ts';
import { HISTORY_PAGE_MAX } from '../protocol/limits.ts';

export interface MessageOrderOptions {
  /** How long a message that came ahead of an earlier one waits for it before history is asked. */
  holeWaitMs: number;
  /** Reads messages with seq < before, newest `limit` of them, ascending (the `history` request). */
  history(conv: ConversationId, before: number, limit: number): Promise<Message[]>;
  /** Hands on a message: exactly once, in seq order within its conversation. */
  deliver(message: Message): void;
  setTimer?: (run: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

/**
 * The client's side of "a hole is filled, never skipped" (docs/ARCHITECTURE.md, "Events and the
 * Bus"): per conversation it knows the last seq held (the cursor). A message at or below it is a
 * repeat; the next one is delivered; one further ahead is held, and if the messages between have
 * not come after a short wait, they are read from history, page by page, and delivered first.
 * A conversation without a cursor starts at whatever comes (nothing of it is held to compare).
 */
export class MessageOrder {
  private readonly cursors = new Map<ConversationId, number>();
  private readonly held = new Map<ConversationId, Map<number, Message>>();
  private readonly timers = new Map<ConversationId, unknown>();
  private readonly filling = new Set<ConversationId>();

  constructor(private readonly options: MessageOrderOptions) {}

  cursor(conv: ConversationId): number | undefined {
    return this.cursors.get(conv);
  }

  all(): Map<ConversationId, number> {
    return this.cursors;
  }

  /** The caller holds `conv` up to `seq` (from a history page, or a gap): cursors only move forward. */
  moveTo(conv: ConversationId, seq: number): void {
    if (seq <= (this.cursors.get(conv) ?? -1)) return;
    this.cursors.set(conv, seq);
    this.release(conv);
  }

  /** A message from the server, live or caught up. */
  receive(message: Message): void {
    const { conv, seq } = message;
    const cursor = this.cursors.get(conv);
    if (cursor !== undefined && seq <= cursor) return; // already held
    if (cursor === undefined || seq === cursor + 1) {
      this.cursors.set(conv, seq);
      this.options.deliver(message);
      this.release(conv);
      return;
    }
    let held = this.held.get(conv);
    if (!held) this.held.set(conv, (held = new Map()));
    held.set(seq, message);
    this.schedule(conv);
  }

  /** A hole that cannot be filled now (disconnected): forget the timers; catch-up refills on reconnect. */
  stop(): void {
    for (const timer of this.timers.values()) (this.options.clearTimer ?? clearTimeout)(timer as ReturnType<typeof setTimeout>);
    this.timers.clear();
  }

  /** Tries again to fill the holes still open (after a reconnect). */
  retry(): void {
    for (const conv of this.held.keys()) this.schedule(conv);
  }

  private release(conv: ConversationId): void {
    const held = this.held.get(conv);
    if (!held) return;
    let cursor = this.cursors.get(conv)!;
    for (const [seq, message] of [...held].sort(([a], [b]) => a - b)) {
      if (seq <= cursor) held.delete(seq);
      else if (seq === cursor + 1) {
        held.delete(seq);
        this.cursors.set(conv, (cursor = seq));
        this.options.deliver(message);
      } else break;
    }
    if (held.size === 0) {
      this.held.delete(conv);
      const timer = this.timers.get(conv);
      if (timer !== undefined) (this.options.clearTimer ?? clearTimeout)(timer as ReturnType<typeof setTimeout>);
      this.timers.delete(conv);
    }
  }

  private schedule(conv: ConversationId): void {
    if (this.timers.has(conv) || this.filling.has(conv)) return;
    const setTimer = this.options.setTimer ?? ((run: () => void, ms: number) => setTimeout(run, ms));
    this.timers.set(conv, setTimer(() => void this.fill(conv), this.options.holeWaitMs));
  }

  /** Reads the missing messages from history, a page at a time from the cursor forward. */
  private async fill(conv: ConversationId): Promise<void> {
    this.timers.delete(conv);
    const held = this.held.get(conv);
    const cursor = this.cursors.get(conv);
    if (!held || cursor === undefined) return;
    this.filling.add(conv);
    try {
      const firstHeld = Math.min(...held.keys());
      const limit = Math.min(HISTORY_PAGE_MAX, firstHeld - cursor - 1);
      const page = await this.options.history(conv, cursor + 1 + limit, limit);
      for (const message of page) this.receive(message);
    } catch {
      // Disconnected or refused: the catch-up after reconnecting fills it (retry()).
      return;
    } finally {
      this.filling.delete(conv);
    }
    if (this.held.has(conv)) this.schedule(conv);
  }
}
