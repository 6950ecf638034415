import type Database from 'better-sqlite3';
import type { FileCard, FileState, Message } from '../../../protocol/index.ts';
import type { FileChange, FileRecords, PendingFile } from '../file-records.ts';
import { CARD_SELECT, toFileCard, type FileRow } from '../rows/files.ts';
import type { SqliteLog } from './sqlite-log.ts';

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
