import type { ErrorCode, FileCard, FileState } from '../../../protocol/index.ts';

/*
 * A file card's row, shared by both SQL adapters (sqlite/, postgres/): both databases have the same
 * `files` columns and return them under these names (PostgreSQL's bigints are read as numbers by
 * its pool's type parser, postgres/database.ts), so the column list and the mapping are written once.
 */

/** The card's columns, prefixed so they can ride along a message row (see FILE_JOIN). */
export const FILE_COLUMNS = `f.id AS file_id, f.conv_id AS file_conv, f.seq AS file_seq,
  f.sender_id AS file_sender_id, fs.name AS file_sender_name, f.recipient_id AS file_recipient_id, fr.name AS file_recipient_name,
  f.name AS file_name, f.size AS file_size, f.type AS file_type, f.sha256 AS file_sha256, f.state AS file_state,
  f.received AS file_received, f.error AS file_error, f.offered_at AS file_offered_at, f.decided_at AS file_decided_at,
  f.completed_at AS file_completed_at, f.delivered_at AS file_delivered_at, f.expires_at AS file_expires_at, f.rev AS file_rev`;

/**
 * A card on its own, read from `files` with its sender's and recipient's names. No placeholder:
 * each adapter appends its own WHERE (`?` or `$1`).
 */
export const CARD_SELECT = `SELECT ${FILE_COLUMNS} FROM files f JOIN users fs ON fs.id = f.sender_id JOIN users fr ON fr.id = f.recipient_id`;

/** Joined to `messages m`: an offer message gets its card, any other message nulls. */
export const FILE_JOIN = `LEFT JOIN files f ON f.conv_id = m.conv_id AND f.seq = m.seq
  LEFT JOIN users fs ON fs.id = f.sender_id LEFT JOIN users fr ON fr.id = f.recipient_id`;

export interface FileRow {
  file_id: string | null;
  file_conv: string;
  file_seq: number;
  file_sender_id: number;
  file_sender_name: string;
  file_recipient_id: number;
  file_recipient_name: string;
  file_name: string;
  file_size: number;
  file_type: string;
  file_sha256: string;
  file_state: FileState;
  file_received: number;
  file_error: string | null;
  file_offered_at: number;
  file_decided_at: number | null;
  file_completed_at: number | null;
  file_delivered_at: number | null;
  file_expires_at: number | null;
  file_rev: number;
}

export function toFileCard(row: FileRow): FileCard {
  const card: FileCard = {
    id: row.file_id!,
    conv: row.file_conv,
    seq: row.file_seq,
    from: { id: row.file_sender_id, name: row.file_sender_name },
    to: { id: row.file_recipient_id, name: row.file_recipient_name },
    name: row.file_name,
    size: row.file_size,
    type: row.file_type,
    sha256: row.file_sha256,
    state: row.file_state,
    received: row.file_received,
    offeredAt: row.file_offered_at,
    rev: row.file_rev,
  };
  if (row.file_error !== null) card.error = row.file_error as ErrorCode;
  if (row.file_decided_at !== null) card.decidedAt = row.file_decided_at;
  if (row.file_completed_at !== null) card.completedAt = row.file_completed_at;
  if (row.file_delivered_at !== null) card.deliveredAt = row.file_delivered_at;
  if (row.file_expires_at !== null) card.expiresAt = row.file_expires_at;
  return card;
}
