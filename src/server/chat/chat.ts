import {
  HISTORY_PAGE_DEFAULT,
  WORLD,
  dmPeer,
  type ConversationId,
  type ConversationSummary,
  type FileCard,
  type Message,
  type UserRef,
} from '../../protocol/index.ts';
import { ParleyError } from '../errors.ts';
import type { CommitResult, PendingMessage, Store } from '../storage/store.ts';
import { CommitQueue } from './commit-queue.ts';
import { checkText } from './text.ts';

/** Where committed changes go: the gateway delivers them to connections. */
export interface ChatListener {
  messageCommitted(result: CommitResult): void;
  readMoved(userId: number, conv: ConversationId, readSeq: number, unread: number): void;
}

export interface Ack {
  clientId: string;
  conv: ConversationId;
  seq: number;
  ts: number;
}

/**
 * The chat domain: who may see which conversation, sending, history and read positions.
 * Authorization is by scoping: a conversation the user is not a member of is "not found".
 */
export class Chat {
  private readonly queue: CommitQueue;
  private readonly knownUsers = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly listener: ChatListener,
  ) {
    this.queue = new CommitQueue(store, (result) => listener.messageCommitted(result));
  }

  async send(sender: UserRef, conv: ConversationId, clientId: string, text: string): Promise<Ack> {
    checkText(text);
    await this.checkMember(sender, conv);
    const { message } = await this.queue.enqueue({ conv, sender, clientId, text, ts: Date.now() });
    return { clientId, conv: message.conv, seq: message.seq, ts: message.ts };
  }

  /** Commits a message another domain built and checked (a file offer: files/files.ts). */
  async commitMessage(pending: PendingMessage): Promise<CommitResult> {
    await this.checkMember(pending.sender, pending.conv);
    return this.queue.enqueue(pending);
  }

  /** The user's file cards changed after `rev`, for catch-up after hello. */
  fileChangesSince(user: UserRef, rev: number, limit: number): Promise<FileCard[]> {
    return this.store.files.changedSince(user.id, rev, limit);
  }

  async history(user: UserRef, conv: ConversationId, limit = HISTORY_PAGE_DEFAULT, before?: number) {
    await this.checkMember(user, conv);
    return this.store.page(conv, limit, before);
  }

  /** Messages after `afterSeq`, for catch-up; the caller has checked membership. */
  missedSince(conv: ConversationId, afterSeq: number, limit: number): Promise<Message[]> {
    return this.store.after(conv, afterSeq, limit);
  }

  lastSeq(conv: ConversationId): Promise<number> {
    return this.store.lastSeq(conv);
  }

  conversationsOf(user: UserRef): Promise<ConversationSummary[]> {
    return this.store.conversationsOf(user);
  }

  async markRead(user: UserRef, conv: ConversationId, seq: number): Promise<void> {
    await this.checkMember(user, conv);
    const { readSeq, unread } = await this.store.markRead(user.id, conv, seq);
    this.listener.readMoved(user.id, conv, readSeq, unread);
  }

  /** Waits for every accepted send to be committed. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  async isMember(user: UserRef, conv: ConversationId): Promise<boolean> {
    if (conv === WORLD) return true;
    const peer = dmPeer(conv, user.id);
    if (peer === null) return false;
    if (this.knownUsers.has(peer)) return true;
    if (!(await this.store.userById(peer))) return false;
    this.knownUsers.add(peer);
    return true;
  }

  private async checkMember(user: UserRef, conv: ConversationId): Promise<void> {
    if (!(await this.isMember(user, conv))) throw new ParleyError('NOT_FOUND', 'No such conversation.');
  }
}
