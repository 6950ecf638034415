import type { UserRef } from '../../protocol/index.ts';
import type { PresenceView } from './presence.ts';

/**
 * The OnlineDirectory port: who is online, as the gateway reports this node's connections
 * opening and closing, and the `presence` events that tell everyone of a real change. One node:
 * `Online` (online.ts). Several nodes: `RedisOnline` (redis-online.ts), where a user online on any
 * node is online, and a dead node's users go offline by themselves (docs/ARCHITECTURE.md).
 * The queries answer at once, from what this node knows; they never wait for the network.
 */
export interface OnlineDirectory extends PresenceView {
  /** A connection of `user` said hello on this node. */
  connected(user: UserRef): void;
  /** A connection of `user` that had said hello on this node closed. */
  disconnected(user: UserRef): void;
  /** `users()`, already serialised (every welcome carries it). */
  usersJson(): string;
  stop(): void;
}

/** Presence changes are coalesced for this long, so a crowd connecting costs one event per window, not one per arrival. */
export const PRESENCE_COALESCE_MS = 50;
