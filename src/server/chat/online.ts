import type { PresenceChange, UserRef } from '../../protocol/index.ts';
import { EVERYONE, type EventPublisher } from '../events/events.ts';
import { PRESENCE_COALESCE_MS, type OnlineDirectory } from './online-directory.ts';
import { Presence } from './presence.ts';

/**
 * Who is online, as the gateway reports connections opening and closing, and the `presence`
 * events that tell everyone: coalesced over 50 ms, and only real changes (a user who came and
 * went within the window is not announced). The OnlineDirectory of one node; with several,
 * RedisOnline (redis-online.ts).
 */
export class Online implements OnlineDirectory {
  private readonly presence = new Presence();
  /** Users whose online state changed since the last event, and what everyone was last told. */
  private readonly dirty = new Map<number, UserRef>();
  private readonly announced = new Set<number>();
  private cancelFlush: (() => void) | null = null;

  constructor(private readonly events: EventPublisher) {}

  /** A connection of `user` said hello. */
  connected(user: UserRef): void {
    if (this.presence.join(user)) this.mark(user);
  }

  /** A connection of `user` that had said hello closed. */
  disconnected(user: UserRef): void {
    if (this.presence.leave(user)) this.mark(user);
  }

  isOnline(userId: number): boolean {
    return this.presence.isOnline(userId);
  }

  users(): UserRef[] {
    return this.presence.users();
  }

  /** `users()`, already serialised (every welcome carries it). */
  usersJson(): string {
    return this.presence.usersJson();
  }

  stop(): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
  }

  private mark(user: UserRef): void {
    this.dirty.set(user.id, user);
    // Real time, not the server's Clock: the window only batches arrivals for efficiency, it is
    // no deadline anyone waits for (tests that move a manual clock still see presence at once).
    if (this.cancelFlush) return;
    const timer = setTimeout(() => this.flush(), PRESENCE_COALESCE_MS);
    timer.unref();
    this.cancelFlush = () => clearTimeout(timer);
  }

  private flush(): void {
    this.cancelFlush = null;
    const changes: PresenceChange[] = [];
    for (const [userId, user] of this.dirty) {
      const online = this.presence.isOnline(userId);
      if (online === this.announced.has(userId)) continue; // came and went within the window
      if (online) this.announced.add(userId);
      else this.announced.delete(userId);
      changes.push({ user, online });
    }
    this.dirty.clear();
    if (changes.length > 0) this.events.publish({ type: 'presence', audience: EVERYONE, changes });
  }
}
