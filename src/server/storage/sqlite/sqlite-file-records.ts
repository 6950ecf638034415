import type Database from 'better-sqlite3';
import type { ErrorCode, FileCard, FileState, Message } from '../../../protocol/index.ts';
import type { FileChange, FileRecords, PendingFile } from '../file-records.ts';
import type { SqliteLog } from './sqlite-log.ts';

/** The card's columns, prefixed so they can ride along a message row (see FILE_JOIN). */
export const FILE_COLUMNS = `f.id AS file_id, f.conv_id AS file_conv, f.seq AS file_seq,
  f.sender_id AS file_sender_id, fs.name AS file_sender_name, f.recipient_id AS file_recipient_id, fr.name AS file_recipient_name,
  f.name AS file_name, f.size AS file_size, f.type AS file_type, f.sha256 AS file_sha256, f.state AS file_state,
  f.received AS file_received, f.error AS file_error, f.offered_at AS file_offered_at, f.decided_at AS file_decided_at,
  f.completed_at AS file_completed_at, f.delivered_at AS file_delivered_at, f.expires_at AS file_expires_at, f.rev AS file_rev`;

const USER_JOINS = 'JOIN users fs ON fs.id = f.sender_id JOIN users fr ON fr.id = f.recipient_id';

/** Joined to `messages m`: an offer message gets its card, any other message nulls. */
export const FILE_JOIN = `LEFT JOIN files f ON f.conv_id = m.conv_id AND f.seq = m.seq
  LEFT JOIN users fs ON fs.id = f.sender_id LEFT JOIN users fr ON fr.id = f.recipient_id`;

const CARD_SELECT = `SELECT ${FILE_COLUMNS} FROM files f ${USER_JOINS}`;

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

/** Thrown inside a transaction to roll it back when a compare-and-set finds another state. */
const NOT_CHANGED = Symbol('not changed');

const CHANGE_COLUMNS: Record<keyof FileChange, string> = {
  state: 'state',
  received: 'received',
  error: 'error',
  decidedAt: 'decided_at',
  completedAt: 'completed_at',
  deliveredAt: 'delivered_at',
  expiresAt: 'expires_at',
};

/** File cards in SQLite. Runs on the store's connection, so an offer joins the message's transaction. */
export class SqliteFileRecords implements FileRecords {
  private readonly sql;

  constructor(
    private readonly db: Database.Database,
    private readonly log: SqliteLog,
  ) {
    this.sql = {
      insert: db.prepare(
        `INSERT INTO files (id, conv_id, seq, sender_id, recipient_id, name, size, type, sha256, state, offered_at, expires_at, rev)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'offered', ?, ?, ?)`,
      ),
      byId: db.prepare(`${CARD_SELECT} WHERE f.id = ?`),
      changedSince: db.prepare(
        `SELECT * FROM (${CARD_SELECT} WHERE f.sender_id = ? AND f.rev > ?
          UNION ALL ${CARD_SELECT} WHERE f.recipient_id = ? AND f.rev > ?)
         ORDER BY file_rev LIMIT ?`,
      ),
      expiring: db.prepare(`${CARD_SELECT} WHERE f.state IN ('offered', 'accepted') AND f.expires_at <= ? LIMIT ?`),
      completedBefore: db.prepare(`${CARD_SELECT} WHERE f.state = 'completed' AND f.completed_at <= ? LIMIT ?`),
    };
  }

  /** Inserts the card of an offer message; runs inside Store.commit's transaction. */
  insertOffer(message: Omit<Message, 'file'>, file: PendingFile): FileCard {
    const rev = this.log.nextRev();
    this.sql.insert.run(
      file.id, message.conv, message.seq, message.sender.id, file.recipient.id,
      file.name, file.size, file.type, file.sha256, message.ts, file.expiresAt, rev,
    );
    return {
      id: file.id,
      conv: message.conv,
      seq: message.seq,
      from: message.sender,
      to: file.recipient,
      name: file.name,
      size: file.size,
      type: file.type,
      sha256: file.sha256,
      state: 'offered',
      received: 0,
      offeredAt: message.ts,
      expiresAt: file.expiresAt,
      rev,
    };
  }

  async byId(id: string): Promise<FileCard | null> {
    const row = this.sql.byId.get(id) as FileRow | undefined;
    return row ? toFileCard(row) : null;
  }

  async update(id: string, from: readonly FileState[], change: FileChange): Promise<FileCard | null> {
    const entries = Object.entries(change).filter(([, value]) => value !== undefined) as [keyof FileChange, unknown][];
    const assignments = entries.map(([key]) => `${CHANGE_COLUMNS[key]} = ?`);
    // The rev is taken in the same transaction as the change: a refused compare-and-set rolls it back.
    const changed = this.db.transaction(() => {
      const rev = this.log.nextRev();
      // Statement text depends only on which fields change; better-sqlite3 caches nothing, but
      // state changes are rare (a handful per transfer), so preparing each time is fine.
      const info = this.db
        .prepare(`UPDATE files SET ${[...assignments, 'rev = ?'].join(', ')} WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`)
        .run(...entries.map(([, value]) => value), rev, id, ...from);
      if (info.changes === 0) throw NOT_CHANGED;
      return true;
    });
    try {
      changed.immediate();
    } catch (error) {
      if (error === NOT_CHANGED) return null;
      throw error;
    }
    return this.byId(id);
  }

  async ofUser(userId: number, options: { conv?: string; states?: readonly FileState[]; limit: number }): Promise<FileCard[]> {
    const where = ['(f.sender_id = ? OR f.recipient_id = ?)'];
    const params: unknown[] = [userId, userId];
    if (options.conv !== undefined) {
      where.push('f.conv_id = ?');
      params.push(options.conv);
    }
    if (options.states) {
      where.push(`f.state IN (${options.states.map(() => '?').join(', ')})`);
      params.push(...options.states);
    }
    const rows = this.db
      .prepare(`${CARD_SELECT} WHERE ${where.join(' AND ')} ORDER BY f.offered_at DESC, f.rev DESC LIMIT ?`)
      .all(...params, options.limit) as FileRow[];
    return rows.map(toFileCard);
  }

  async changedSince(userId: number, rev: number, limit: number): Promise<FileCard[]> {
    return (this.sql.changedSince.all(userId, rev, userId, rev, limit) as FileRow[]).map(toFileCard);
  }

  async expiring(now: number, limit: number): Promise<FileCard[]> {
    return (this.sql.expiring.all(now, limit) as FileRow[]).map(toFileCard);
  }

  async completedBefore(before: number, limit: number): Promise<FileCard[]> {
    return (this.sql.completedBefore.all(before, limit) as FileRow[]).map(toFileCard);
  }
}
