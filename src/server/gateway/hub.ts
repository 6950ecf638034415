import type { Logger } from 'pino';
import { CLOSE_CODES, type Message, type ServerFrame } from '../../protocol/index.ts';
import type { OnlineDirectory } from '../chat/online-directory.ts';
import { HEARS_EVERYONE, type Hearing } from '../events/bus.ts';
import type { Audience, DomainEvent, MessageEvent } from '../events/events.ts';
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
  /** Per user with a connection here: since when this node hears their events, and the wait for it. */
  private readonly heard = new Map<number, { since: number; ready: Promise<void> }>();

  constructor(
    readonly log: Logger,
    private readonly online: OnlineDirectory,
    private readonly hearing: Hearing = HEARS_EVERYONE,
    private readonly now: () => number = Date.now,
  ) {}

  /** A connection opened (before hello). */
  add(connection: R): void {
    this.all.add(connection);
  }

  /**
   * The connection said hello: it receives events and counts towards presence. Resolves once
   * this node hears every event of the user (Hearing.hear): read what was missed only then.
   */
  join(connection: R): Promise<void> {
    const { id } = connection.user;
    this.joined.add(connection);
    let mine = this.byUser.get(id);
    if (!mine) this.byUser.set(id, (mine = new Set()));
    mine.add(connection);
    this.online.connected(connection.user);
    let heard = this.heard.get(id);
    if (!heard) this.heard.set(id, (heard = { since: this.now(), ready: this.hearing.hear(id) }));
    return heard.ready;
  }

  leave(connection: R): void {
    const { id } = connection.user;
    this.joined.delete(connection);
    const mine = this.byUser.get(id);
    mine?.delete(connection);
    if (mine?.size === 0) {
      this.byUser.delete(id);
      this.heard.delete(id);
      this.hearing.stopHearing(id);
    }
    this.online.disconnected(connection.user);
  }

  /**
   * Since when this node has heard, without a break, the messages of `event`'s conversation
   * that its recipients here need: the earliest first hello among them (each read everything
   * committed before theirs when they said it), or null when none is here. A message for
   * everyone is heard from the node's start.
   */
  heardSince(event: MessageEvent): number | null {
    if ('everyone' in event.audience) return -Infinity;
    let since: number | null = null;
    for (const userId of event.audience.users) {
      const heard = this.heard.get(userId);
      if (heard && (since === null || heard.since < since)) since = heard.since;
    }
    return since;
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
        // Framed on meeting its first recipient: a node hears a room's message when it holds one
        // member, and may hold none of the others.
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
