import type { UserRef } from '../../protocol/index.ts';

/** What the rest of the domain may ask of presence: who is online now. */
export interface PresenceView {
  isOnline(userId: number): boolean;
  users(): UserRef[];
}

/**
 * Who is online: a count of live connections per user. A user with three tabs is online once
 * and goes offline when the last one closes.
 */
export class Presence implements PresenceView {
  private readonly online = new Map<number, { user: UserRef; connections: number }>();
  /**
   * The items of `users()` as JSON, comma-separated, kept up to date as users arrive (appending
   * to a string is cheap in V8) and rebuilt after someone leaves. Every welcome carries the
   * whole list: serialising it afresh made each connect O(online users) in JSON.stringify, and
   * a crowd reconnecting O(n²) (bench: connections, docs/PERFORMANCE.md).
   */
  private jsonItems: string | null = '';

  /** Returns true when this connection brought the user online. */
  join(user: UserRef): boolean {
    const entry = this.online.get(user.id);
    if (entry) {
      entry.connections += 1;
      return false;
    }
    this.online.set(user.id, { user, connections: 1 });
    if (this.jsonItems !== null) {
      // New users go last, as in the Map's iteration order, so this matches JSON.stringify(users()).
      const item = JSON.stringify(user);
      this.jsonItems = this.jsonItems === '' ? item : `${this.jsonItems},${item}`;
    }
    return true;
  }

  /** Returns true when this was the user's last connection. */
  leave(user: UserRef): boolean {
    const entry = this.online.get(user.id);
    if (!entry) return false;
    entry.connections -= 1;
    if (entry.connections > 0) return false;
    this.online.delete(user.id);
    this.jsonItems = null;
    return true;
  }

  isOnline(userId: number): boolean {
    return this.online.has(userId);
  }

  users(): UserRef[] {
    return [...this.online.values()].map((entry) => entry.user);
  }

  /** `users()`, already serialised. */
  usersJson(): string {
    this.jsonItems ??= JSON.stringify(this.users()).slice(1, -1);
    return `[${this.jsonItems}]`;
  }
}
