import type { Logger } from 'pino';
import { CLOSE_CODES, type Message, type ServerFrame } from '../../protocol/index.ts';
import type { OnlineDirectory } from '../chat/online-directory.ts';
import type { Audience, DomainEvent } from '../events/events.ts';
import { prepareFrame, type PreparedFrame } from './outbox.ts';

/** What the hub needs of a connection (gateway/connection.ts implements it). */
export interface Recipient {
  readonly user: { id: number; name: string };
  readonly sessionKey: string;
  /** Said hello with protocol 2 or later: hears of rooms. */
  readonly speaksRooms: boolean;
  /** A committed message, pre-framed once for everyone who gets it. */
  deliver(message: Message, frame: PreparedFrame): void;
  /** Any other pre-framed event. */
  deliverEvent(frame: PreparedFrame): void;
  close(code: number, reason: string): void;
}

/**
 * The delivery end of the Bus on this node: which connections belong to whom, and routing each
 * event to the connections of its audience. It runs no queries and chooses no recipients: every
 * event says who may hear it, and it arrives here in order, once (events/ordered-delivery.ts).
 * Every frame is serialised once for all recipients. See docs/ARCHITECTURE.md, "Events and the Bus".
 */
export class Hub<R extends Recipient = Recipient> {
  private readonly all = new Set<R>();
  private readonly joined = new Set<R>();
  private readonly byUser = new Map<number, Set<R>>();

  constructor(
    readonly log: Logger,
    private readonly online: OnlineDirectory,
  ) {}

  /** A connection opened (before hello). */
  add(connection: R): void {
    this.all.add(connection);
  }

  /** The connection said hello: it receives events and counts towards presence. */
  join(connection: R): void {
    this.joined.add(connection);
    let mine = this.byUser.get(connection.user.id);
    if (!mine) this.byUser.set(connection.user.id, (mine = new Set()));
    mine.add(connection);
    this.online.connected(connection.user);
  }

  leave(connection: R): void {
    this.joined.delete(connection);
    const mine = this.byUser.get(connection.user.id);
    mine?.delete(connection);
    if (mine?.size === 0) this.byUser.delete(connection.user.id);
    this.online.disconnected(connection.user);
  }

  forget(connection: R): void {
    this.all.delete(connection);
  }

  /** Who is online, already serialised (the welcome splices it in). */
  onlineUsersJson(): string {
    return this.online.usersJson();
  }

  connections(): ReadonlySet<R> {
    return this.all;
  }

  /** The users with a connection that said hello (each once). */
  *users(): Iterable<{ id: number; name: string }> {
    for (const mine of this.byUser.values()) {
      for (const connection of mine) {
        yield connection.user;
        break;
      }
    }
  }

  /** Routes one event to the connections of its audience (the Bus subscriber of this node). */
  route(event: DomainEvent): void {
    switch (event.type) {
      case 'message': {
        const { message } = event;
        // The hot path of a world broadcast: a plain loop over the joined connections.
        if ('everyone' in event.audience) {
          const frame = prepareFrame({ type: 'message', message });
          for (const connection of this.joined) connection.deliver(message, frame);
          return;
        }
        const rooms = event.convKind === 'room';
        // Framed on meeting its first recipient: in a cluster every node hears every DM, and all
        // but two nodes (often all but one) hold none of its members.
        let frame: PreparedFrame | null = null;
        for (const userId of event.audience.users) {
          for (const connection of this.byUser.get(userId) ?? []) {
            if (!rooms || connection.speaksRooms) connection.deliver(message, (frame ??= prepareFrame({ type: 'message', message })));
          }
        }
        return;
      }
      case 'membership': {
        const rooms = event.convKind === 'room';
        // Whoever just joined first learns of the conversation itself.
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
        return this.toRoomSpeakers(event.audience, prepareFrame({ type: 'room', room: event.room }));
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
          if (connection.user.id === event.userId && connection.sessionKey !== event.except) {
            connection.close(CLOSE_CODES.SESSION_ENDED, event.reason);
          }
        }
        return;
    }
  }

  private send(audience: Audience, frame: ServerFrame): void {
    const prepared = prepareFrame(frame);
    this.forAudience(audience, (connection) => connection.deliverEvent(prepared));
  }

  /** Room frames go only to connections that said hello with protocol 2 or later. */
  private toRoomSpeakers(audience: Audience, frame: PreparedFrame): void {
    this.forAudience(audience, (connection) => connection.speaksRooms && connection.deliverEvent(frame));
  }

  private forAudience(audience: Audience, each: (connection: R) => unknown): void {
    if ('everyone' in audience) {
      for (const connection of this.joined) each(connection);
      return;
    }
    for (const userId of audience.users) for (const connection of this.byUser.get(userId) ?? []) each(connection);
  }
}
