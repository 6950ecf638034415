import type { Logger } from 'pino';
import { CLOSE_CODES, type PresenceChange, type ServerFrame, type UserRef } from '../../protocol/index.ts';
import type { Presence } from '../chat/presence.ts';
import type { Audience, DomainEvent, EventPublisher } from '../events/events.ts';
import type { Connection } from './connection.ts';
import { prepareFrame, type PreparedFrame } from './outbox.ts';

/** Presence changes are coalesced for this long, so a crowd connecting costs one frame per client, not one per arrival. */
const PRESENCE_COALESCE_MS = 50;

/**
 * The in-process fan-out: which connections belong to whom, and delivery of committed events
 * to the connections of their audience. It runs no queries and chooses no recipients: every
 * event says who may hear it. Every frame is serialised once for all recipients.
 */
export class Hub implements EventPublisher {
  private readonly all = new Set<Connection>();
  private readonly joined = new Set<Connection>();
  private readonly byUser = new Map<number, Set<Connection>>();
  /** Users whose online state changed since the last presence frame, and what clients were last told. */
  private readonly presenceDirty = new Map<number, UserRef>();
  private readonly announced = new Set<number>();
  private presenceTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly log: Logger,
    private readonly presence: Presence,
  ) {}

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

  /** Who is online, already serialised (the welcome splices it in). */
  onlineUsersJson(): string {
    return this.presence.usersJson();
  }

  connections(): ReadonlySet<Connection> {
    return this.all;
  }

  publish(event: DomainEvent): void {
    switch (event.type) {
      case 'message': {
        const { message } = event;
        const frame = prepareFrame({ type: 'message', message });
        // The hot path of a world broadcast: a plain loop over the joined connections.
        if ('everyone' in event.audience) {
          for (const connection of this.joined) connection.deliver(message, frame);
          return;
        }
        const rooms = event.convKind === 'room';
        for (const userId of event.audience.users) {
          for (const connection of this.byUser.get(userId) ?? []) {
            if (!rooms || connection.speaksRooms) connection.deliver(message, frame);
          }
        }
        return;
      }
      case 'membership': {
        const rooms = event.convKind === 'room';
        if (event.summary) {
          const frame = prepareFrame({ type: 'conversation', conversation: event.summary });
          for (const connection of this.byUser.get(event.user.id) ?? []) {
            if (!rooms || connection.speaksRooms) connection.deliverEvent(frame);
          }
        }
        if (!rooms) return;
        const { conv, user, role, memberCount, rev, by } = event;
        this.toRoomSpeakers(event.audience, prepareFrame({ type: 'member', conv, user, role, memberCount, rev, by }));
        return;
      }
      case 'room':
        this.toRoomSpeakers(event.audience, prepareFrame({ type: 'room', room: event.room }));
        return;
      case 'file':
        return this.send(event.audience, { type: 'file', file: event.file });
      case 'fileProgress': {
        const { id, conv, received, size } = event;
        return this.send(event.audience, { type: 'fileProgress', id, conv, received, size });
      }
      case 'read':
        return this.send(event.audience, { type: 'read', conv: event.conv, seq: event.seq, unread: event.unread });
      case 'presence':
        return this.send(event.audience, { type: 'presence', changes: event.changes });
      case 'sessionEnded':
        for (const connection of this.all) {
          if (connection.sessionKey === event.sessionKey) connection.close(CLOSE_CODES.SESSION_ENDED, event.reason);
        }
        return;
      case 'allSessionsEnded':
        for (const connection of this.all) {
          if (connection.user.id === event.userId) connection.close(CLOSE_CODES.SESSION_ENDED, event.reason);
        }
        return;
    }
  }

  private send(audience: Audience, frame: ServerFrame): void {
    const prepared = prepareFrame(frame);
    for (const connection of this.audience(audience)) connection.deliverEvent(prepared);
  }

  /** Room frames go only to connections that said hello with protocol 2 or later. */
  private toRoomSpeakers(audience: Audience, frame: PreparedFrame): void {
    for (const connection of this.audience(audience)) if (connection.speaksRooms) connection.deliverEvent(frame);
  }

  private *audience(audience: Audience): Iterable<Connection> {
    if ('everyone' in audience) {
      yield* this.joined;
      return;
    }
    for (const userId of audience.users) yield* this.byUser.get(userId) ?? [];
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
    this.send({ everyone: true }, { type: 'presence', changes });
  }

  stop(): void {
    if (this.presenceTimer) clearTimeout(this.presenceTimer);
    this.presenceTimer = null;
  }
}
