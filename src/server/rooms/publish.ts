import type { ConversationSummary } from '../../protocol/index.ts';
import { usersAudience, type EventPublisher } from '../events/events.ts';
import type { RoomCommit } from '../storage/room-records.ts';

/**
 * The events of one committed room change, in the order a member's client needs them: who
 * joined or left (a new member first learns of the conversation), the room's new details, then
 * the system messages. Those who left hear of their own departure, and nothing after it.
 */
export function publishRoomCommit(events: EventPublisher, commit: RoomCommit): void {
  const { room, memberIds } = commit;
  const members = usersAudience(memberIds);
  // A new member's conversation starts read up to where it was before the change's messages.
  const before = (commit.messages[0]?.seq ?? 1) - 1;
  // One actor makes every change of a commit, and is the sender of all its system messages.
  const actor = commit.messages[0]?.sender;
  for (const change of commit.members) {
    const summary: ConversationSummary | undefined = change.change === 'joined'
      ? { id: room.id, kind: 'room', room, role: change.role!, lastSeq: before, readSeq: before, unread: 0 }
      : undefined;
    events.publish({
      type: 'membership',
      rev: change.rev,
      conv: room.id,
      convKind: 'room',
      audience: change.role === null ? usersAudience([...memberIds, change.user.id]) : members,
      user: change.user,
      role: change.role,
      memberCount: room.memberCount,
      by: actor ?? change.user,
      ...(summary ? { summary } : {}),
    });
  }
  if (commit.detailsRev !== null) events.publish({ type: 'room', rev: commit.detailsRev, audience: members, room });
  for (const message of commit.messages) {
    events.publish({ type: 'message', conv: room.id, seq: message.seq, convKind: 'room', audience: members, message });
  }
}
