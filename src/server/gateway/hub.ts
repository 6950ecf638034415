import type { Logger } from 'pino';
import {
  WORLD,
  dmMembers,
  type ConversationId,
  type PresenceChange,
  type UserRef,
} from '../../protocol/index.ts';
import type { ChatListener } from '../chat/chat.ts';
import type { FilesListener } from '../files/files.ts';
import type { FileCard } from '../../protocol/index.ts';
import { Presence } from '../chat/presence.ts';
import type { CommitResult } from '../storage/store.ts';
import type { Connection } from './connection.ts';
import { prepareFrame } from './outbox.ts';

/** Presence changes are coalesced for this long, so a crowd connecting costs one frame per client, not one per arrival. */
const PRESENCE_COALESCE_MS = 50;

/**
 * The in-process fan-out: which connections belong to whom, and delivery of committed events
 * to them. It runs no queries; every frame it sends is serialised once for all recipients.
 */
export class Hub implements ChatListener, FilesListener {
  private readonly all = new Set<Connection>();
  private readonly joined = new Set<Connection>();
  private readonly byUser = new Map<number, Set<Connection>>();
  private readonly presence = new Presence();
  /** Users whose online state changed since the last presence frame, and what clients were last told. */
  private readonly presenceDirty = new Map<number, UserRef>();
  private readonly announced = new Set<number>();
  private presenceTimer: NodeJS.Timeout | null = null;

  constructor(readonly log: Logger) {}

  /** A connection opened (before hello). */
  add(connection: Connection): void {
    this.all.add(connection);
  }

  /** The connection said hello: it receives events and counts towards presence. */
  join(connection: Connection): void {
    this.joined.add(connection);
    let mine = this.byUser.get(connection.user.id);
    if (!mine) this.byUser.set(connection.user.id, (mine = new Set()));
    mine.add(connection);
    if (this.presence.join(connection.user)) this.markPresence(connection.user);
  }

  leave(connection: Connection): void {
    this.joined.delete(connection);
    const mine = this.byUser.get(connection.user.id);
    mine?.delete(connection);
    if (mine?.size === 0) this.byUser.delete(connection.user.id);
    if (this.presence.leave(connection.user)) this.markPresence(connection.user);
  }

  forget(connection: Connection): void {
    this.all.delete(connection);
  }

  onlineUsers(): UserRef[] {
    return this.presence.users();
  }

  /** `onlineUsers()` as JSON, without serialising it again for every caller. */
  onlineUsersJson(): string {
    return this.presence.usersJson();
  }

  connections(): ReadonlySet<Connection> {
    return this.all;
  }

  /** Closes every socket of one session (on logout). */
  closeSession(sessionKey: string, code: number, reason: string): void {
    for (const connection of this.all) {
      if (connection.sessionKey === sessionKey) connection.close(code, reason);
    }
  }

  messageCommitted({ message, createdConversation, members }: CommitResult): void {
    if (createdConversation && members) this.announceConversation(message.conv, members);
    const frame = prepareFrame({ type: 'message', message });
    if (message.conv === WORLD) {
      for (const connection of this.joined) connection.deliver(message, frame);
      return;
    }
    for (const userId of membersOf(message.conv, members)) {
      for (const connection of this.byUser.get(userId) ?? []) connection.deliver(message, frame);
    }
  }

  /** A committed change of a file card: both members of its DM. */
  fileChanged(file: FileCard): void {
    const frame = prepareFrame({ type: 'file', file });
    this.toUser(file.from.id, frame);
    this.toUser(file.to.id, frame);
  }

  fileProgress(file: FileCard, received: number): void {
    const frame = prepareFrame({ type: 'fileProgress', id: file.id, conv: file.conv, received, size: file.size });
    this.toUser(file.from.id, frame);
    this.toUser(file.to.id, frame);
  }

  readMoved(userId: number, conv: ConversationId, readSeq: number, unread: number): void {
    this.toUser(userId, prepareFrame({ type: 'read', conv, seq: readSeq, unread }));
  }

  private announceConversation(conv: ConversationId, members: UserRef[]): void {
    for (const member of members) {
      const peer = members.find((other) => other.id !== member.id) ?? member;
      this.toUser(
        member.id,
        prepareFrame({ type: 'conversation', conversation: { id: conv, kind: 'dm', peer, lastSeq: 0, readSeq: 0, unread: 0 } }),
      );
    }
  }

  private toUser(userId: number, frame: readonly Buffer[]): void {
    for (const connection of this.byUser.get(userId) ?? []) connection.deliverEvent(frame);
  }

  private markPresence(user: UserRef): void {
    this.presenceDirty.set(user.id, user);
    this.presenceTimer ??= setTimeout(() => this.flushPresence(), PRESENCE_COALESCE_MS);
  }

  private flushPresence(): void {
    this.presenceTimer = null;
    const changes: PresenceChange[] = [];
    for (const [userId, user] of this.presenceDirty) {
      const online = this.presence.isOnline(userId);
      if (online === this.announced.has(userId)) continue; // came and went within the window
      if (online) this.announced.add(userId);
      else this.announced.delete(userId);
      changes.push({ user, online });
    }
    this.presenceDirty.clear();
    if (changes.length === 0) return;
    const frame = prepareFrame({ type: 'presence', changes });
    for (const connection of this.joined) connection.deliverEvent(frame);
  }

  stop(): void {
    if (this.presenceTimer) clearTimeout(this.presenceTimer);
    this.presenceTimer = null;
  }
}

function membersOf(conv: ConversationId, members: UserRef[] | undefined): number[] {
  return members ? members.map((member) => member.id) : (dmMembers(conv) ?? []);
}
