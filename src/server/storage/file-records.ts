/**
 * The file part of the storage port: file cards and their state changes. An offer row is
 * inserted by `Store.commit` together with its message (one transaction); everything after
 * that goes through here. Every change bumps the card's `rev` (see FileCard.rev).
 */
import type { ErrorCode, FileCard, FileState, UserRef } from '../../protocol/index.ts';

/** The file part of a pending offer message. */
export interface PendingFile {
  id: string;
  recipient: UserRef;
  name: string;
  size: number;
  type: string;
  sha256: string;
  expiresAt: number;
}

/** Fields to change; `null` clears an optional field. */
export interface FileChange {
  state?: FileState;
  received?: number;
  error?: ErrorCode | null;
  decidedAt?: number;
  completedAt?: number;
  deliveredAt?: number;
  expiresAt?: number | null;
}

export interface FileRecords {
  byId(id: string): Promise<FileCard | null>;
  /**
   * Compare-and-set: applies `change` only while the card is in one of the `from` states and
   * returns the changed card, or null when the card is missing or in another state.
   */
  update(id: string, from: readonly FileState[], change: FileChange): Promise<FileCard | null>;
  /** The user's files (as sender or recipient), newest offer first. */
  ofUser(userId: number, options: { conv?: string; states?: readonly FileState[]; limit: number }): Promise<FileCard[]>;
  /** The user's cards with rev > `rev`, ascending by rev. */
  changedSince(userId: number, rev: number, limit: number): Promise<FileCard[]>;
  /** Offered or accepted cards whose `expiresAt` is at or before `now`. */
  expiring(now: number, limit: number): Promise<FileCard[]>;
  /** Completed cards completed at or before `before` (for retention). */
  completedBefore(before: number, limit: number): Promise<FileCard[]>;
}
