import type { UserRef } from '../../protocol/index.ts';

/**
 * Who is online: a count of live connections per user. A user with three tabs is online once
 * and goes offline when the last one closes.
 */
export class Presence {
  private readonly online = new Map<number, { user: UserRef; connections: number }>();

  /** Returns true when this connection brought the user online. */
  join(user: UserRef): boolean {
    const entry = this.online.get(user.id);
    if (entry) {
      entry.connections += 1;
      return false;
    }
    this.online.set(user.id, { user, connections: 1 });
    return true;
  }

  /** Returns true when this was the user's last connection. */
  leave(user: UserRef): boolean {
    const entry = this.online.get(user.id);
    if (!entry) return false;
    entry.connections -= 1;
    if (entry.connections > 0) return false;
    this.online.delete(user.id);
    return true;
  }

  isOnline(userId: number): boolean {
    return this.online.has(userId);
  }

  users(): UserRef[] {
    return [...this.online.values()].map((entry) => entry.user);
  }
}
