/**
 * File transfer in direct conversations (docs/PROTOCOL.md, "Files"). Zod-free, so the browser
 * bundle can import the types and constants without the schemas (those are in file-schemas.ts).
 */
import type { ConversationId } from './conversations.ts';
import type { ErrorCode } from './errors.ts';
import type { UserRef } from './users.ts';

/**
 * offered → accepted → completed → deleted (by retention); offered → completed (an empty file, on accept)
 * offered → declined | cancelled | expired;  accepted → cancelled | expired | failed
 */
export type FileState = 'offered' | 'accepted' | 'declined' | 'cancelled' | 'expired' | 'completed' | 'failed' | 'deleted';

/** States a transfer can still move on from; the others are final (completed can only be deleted). */
export const OPEN_FILE_STATES: readonly FileState[] = ['offered', 'accepted'];

/** The file card: what both members see of one offer, carried by the offer message and by `file` frames. */
export interface FileCard {
  /** 128 random bits, base64url: the only name the bytes ever have on the server. */
  id: string;
  conv: ConversationId;
  /** The seq of the offer message in `conv`. */
  seq: number;
  from: UserRef;
  to: UserRef;
  /** The sender's file name, as text: never used as a path. */
  name: string;
  size: number;
  /** The declared media type, informational only (downloads are always application/octet-stream). */
  type: string;
  /** Lower-case hex SHA-256 of the whole file, computed by the sender before offering. */
  sha256: string;
  state: FileState;
  /** Bytes the server holds (as of the last completed upload request); `size` once completed. */
  received: number;
  /** Why the transfer failed or was cut off, as a catalogue code. */
  error?: ErrorCode;
  offeredAt: number;
  /** When it was accepted, declined, cancelled or expired. */
  decidedAt?: number;
  /** When the server verified the last byte. */
  completedAt?: number;
  /** When the recipient's client confirmed it saved the bytes and their SHA-256 matched. */
  deliveredAt?: number;
  /** An offered file expires then; an accepted one expires then unless the upload moves on. */
  expiresAt?: number;
  /**
   * Increases with every change of any file on the server. A client keeps the card with the
   * highest rev, and says the highest it has seen in `hello` (`fileRev`) to catch up on changes.
   */
  rev: number;
}

export const FILE_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** File names are shown as text; at most this many code points. */
export const FILE_NAME_MAX_CODE_POINTS = 255;
export const FILE_TYPE_MAX_LENGTH = 255;
export const DEFAULT_MAX_FILE_BYTES = 2 * 1024 ** 3;

/** The upload speaks the core of tus 1.0 (https://tus.io/protocols/resumable-upload): HEAD + PATCH. */
export const TUS_VERSION = '1.0.0';
export const UPLOAD_CONTENT_TYPE = 'application/offset+octet-stream';

export const fileUrls = {
  collection: '/api/files',
  card: (id: string) => `/api/files/${id}`,
  decision: (id: string, action: 'accept' | 'decline' | 'cancel' | 'delivered') => `/api/files/${id}/${action}`,
  upload: (id: string) => `/api/files/${id}/upload`,
  content: (id: string) => `/api/files/${id}/content`,
};

export interface FileOfferReply {
  file: FileCard;
  /** The offer message (seq, ts); a retried offer with the same clientId gets the original. */
  message: { conv: ConversationId; seq: number; ts: number; clientId: string };
}

export interface FilesReply {
  files: FileCard[];
}

/** The card a client should show: the one with the higher rev. */
export function newerCard(a: FileCard | undefined, b: FileCard): FileCard {
  return a && a.rev >= b.rev ? a : b;
}
