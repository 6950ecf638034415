import type { ConversationSummary } from '../../protocol/index.ts';
import { EVERYONE, usersAudience, type EventPublisher } from '../events/events.ts';
import type { CommitResult } from '../storage/store.ts';

/**
 * The events of one committed message: first the memberships it created (a DM's first message
 * tells both members of their new conversation), then the message itself, to the members read in
 * the commit's transaction, or everyone for the world.
 */
export function publishCommitted(events: EventPublisher, result: CommitResult): void {
  if (!result.ok || result.duplicate) return;
  const { message } = result;
  for (const { user, rev } of result.created) {
    const peer = result.created.find((other) => other.user.id !== user.id)?.user ?? user;
    const summary: ConversationSummary = { id: message.conv, kind: 'dm', peer, lastSeq: 0, readSeq: 0, unread: 0 };
    events.publish({
      type: 'membership',
      rev,
      conv: message.conv,
      convKind: result.convKind,
      audience: usersAudience([user.id]),
      user,
      role: 'member',
      memberCount: result.created.length,
      by: message.sender,
      summary,
    });
  }
  events.publish({
    type: 'message',
    conv: message.conv,
    seq: message.seq,
    convKind: result.convKind,
    // The members come from the memberships table, one row per user: already distinct, so they
    // are the audience as they are (usersAudience would copy them through a Set per message).
    audience: result.members === null ? EVERYONE : { users: result.members },
    message,
  });
}
