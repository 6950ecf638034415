import type { ConversationId, Message } from '../../protocol/index.ts';
import { EVERYONE, usersAudience, type MessageEvent } from '../events/events.ts';
import type { MessageSource } from '../events/ordered-delivery.ts';
import type { Store } from '../storage/store.ts';

/**
 * Messages read back from storage as events, for a subscriber that missed some (a hole, or the
 * start of a conversation). Their audience is read now: the members as they are, not as they were
 * at the commit, so someone who left meanwhile does not get them.
 */
export class MessageReplay implements MessageSource {
  constructor(private readonly store: Store) {}

  async messagesAfter(conv: ConversationId, afterSeq: number, limit: number): Promise<MessageEvent[]> {
    return this.events(conv, await this.store.after(conv, afterSeq, limit));
  }

  async messagesBefore(conv: ConversationId, beforeSeq: number, sinceTs: number, limit: number): Promise<MessageEvent[]> {
    const { messages } = await this.store.page(conv, limit, beforeSeq);
    return this.events(conv, messages.filter((message) => message.ts >= sinceTs));
  }

  private async events(conv: ConversationId, messages: Message[]): Promise<MessageEvent[]> {
    if (messages.length === 0) return [];
    const state = await this.store.conversationState(conv);
    if (!state) return [];
    const audience = state.members === null ? EVERYONE : usersAudience(state.members);
    return messages.map((message) => ({ type: 'message', conv, seq: message.seq, convKind: state.kind, audience, message }));
  }
}
