import { CATCH_UP_MAX, type ConversationId, type FileCard, type Message, type UserRef } from '../../protocol/index.ts';
import type { Store } from '../storage/store.ts';

/** What a reconnecting client missed, item by item, in the order it is sent (docs/PROTOCOL.md, "Connecting"). */
export type CatchUpItem =
  /** Missed messages of one conversation, ascending (a batch, written in one go). */
  | { type: 'messages'; messages: Message[] }
  /** More than CATCH_UP_MAX were missed: the client pages history instead. */
  | { type: 'gap'; conv: ConversationId; lastSeq: number }
  /** Everything of `conv` up to `upTo` has been handed out. */
  | { type: 'caughtUp'; conv: ConversationId; upTo: number }
  /** File cards changed since the client's rev, ascending by rev (a batch). */
  | { type: 'files'; files: FileCard[] }
  /** One bounded read was handed out: let it leave before asking for more. */
  | { type: 'batchEnd' };

export interface CatchUpRequest {
  /** The last seq the client holds per conversation. */
  cursors: Readonly<Record<ConversationId, number>>;
  /** The highest file-card rev it holds, if it said. */
  fileRev: number | undefined;
  /** Whether the client speaks rooms (protocol 2): rooms are skipped for older ones. */
  rooms: boolean;
  fileBatch: number;
}

/**
 * What a user missed: the messages after each cursor of a conversation they are (still) a member
 * of, or a gap; then every file card of theirs changed after `fileRev`, in batches by rev. Lazy:
 * each read happens when the consumer asks for the next item, so it can wait for its socket.
 */
export async function* catchUp(store: Store, user: UserRef, request: CatchUpRequest): AsyncGenerator<CatchUpItem> {
  for (const [conv, cursor] of Object.entries(request.cursors)) {
    // Membership is checked here, now: a conversation left or never joined is skipped silently.
    const membership = await store.membership(user.id, conv);
    if (!membership || (membership.kind === 'room' && !request.rooms)) continue;
    const lastSeq = await store.lastSeq(conv);
    if (lastSeq - cursor > CATCH_UP_MAX) {
      yield { type: 'gap', conv, lastSeq };
      yield { type: 'caughtUp', conv, upTo: lastSeq };
      continue;
    }
    const missed = await store.after(conv, cursor, CATCH_UP_MAX);
    if (missed.length > 0) yield { type: 'messages', messages: missed };
    // Never above the conversation's last seq: a cursor from beyond it (a server restored from an
    // older backup) must not make the connection drop the new messages that reach that number.
    yield { type: 'caughtUp', conv, upTo: missed.at(-1)?.seq ?? Math.min(cursor, lastSeq) };
    if (missed.length > 0) yield { type: 'batchEnd' };
  }
  // A user's cards are bounded by their own DMs, so this is complete, never cut off.
  if (request.fileRev === undefined) return;
  for (let after = request.fileRev; ; ) {
    const files = await store.files.changedSince(user.id, after, request.fileBatch);
    if (files.length > 0) yield { type: 'files', files };
    if (files.length < request.fileBatch) return;
    after = files.at(-1)!.rev;
    yield { type: 'batchEnd' };
  }
}
