import type { FileCard, FileState, Message } from '../../../protocol/index.ts';
import type { FileChange, FileRecords, PendingFile } from '../file-records.ts';
import { CARD_SELECT, toFileCard, type FileRow } from '../rows/files.ts';
import type { Database, Queryable } from './database.ts';
import { nextRev } from './postgres-log.ts';

const CHANGE_COLUMNS: Record<keyof FileChange, string> = {
  state: 'state',
  received: 'received',
  error: 'error',
  decidedAt: 'decided_at',
  completedAt: 'completed_at',
  deliveredAt: 'delivered_at',
  expiresAt: 'expires_at',
};

/** Thrown inside a transaction to roll it back (and give its rev back) when a compare-and-set finds another state. */
const NOT_CHANGED = Symbol('not changed');

/** File cards in PostgreSQL; the card's columns and row shape are the SQLite adapter's (same SQL). */
export class PostgresFileRecords implements FileRecords {
  constructor(private readonly db: Database) {}

  /** Inserts the card of an offer message; runs inside Store.commit's transaction. */
  async insertOffer(tx: Queryable, message: Omit<Message, 'file'>, file: PendingFile): Promise<FileCard> {
    const rev = await nextRev(tx);
    await tx.query(
      `INSERT INTO files (id, conv_id, seq, sender_id, recipient_id, name, size, type, sha256, state, offered_at, expires_at, rev)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'offered', $10, $11, $12)`,
      [file.id, message.conv, message.seq, message.sender.id, file.recipient.id, file.name, file.size, file.type, file.sha256, message.ts, file.expiresAt, rev],
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
    const { rows } = await this.db.query<FileRow>(`${CARD_SELECT} WHERE f.id = $1`, [id]);
    return rows[0] ? toFileCard(rows[0]) : null;
  }

  async update(id: string, from: readonly FileState[], change: FileChange): Promise<FileCard | null> {
    const entries = Object.entries(change).filter(([, value]) => value !== undefined) as [keyof FileChange, unknown][];
    const assignments = entries.map(([key], i) => `${CHANGE_COLUMNS[key]} = $${i + 1}`);
    const n = entries.length;
    try {
      await this.db.transaction(async (tx) => {
        // The row is checked and changed by one statement: of two nodes racing, the second sees the first's state.
        const rev = await nextRev(tx);
        const result = await tx.query(
          `UPDATE files SET ${[...assignments, `rev = $${n + 1}`].join(', ')} WHERE id = $${n + 2} AND state = ANY($${n + 3})`,
          [...entries.map(([, value]) => value), rev, id, [...from]],
        );
        if (result.rowCount === 0) throw NOT_CHANGED;
      });
    } catch (error) {
      if (error === NOT_CHANGED) return null;
      throw error;
    }
    return this.byId(id);
  }

  async ofUser(userId: number, options: { conv?: string; states?: readonly FileState[]; limit: number }): Promise<FileCard[]> {
    const where = ['(f.sender_id = $1 OR f.recipient_id = $1)'];
    const params: unknown[] = [userId];
    if (options.conv !== undefined) {
      params.push(options.conv);
      where.push(`f.conv_id = $${params.length}`);
    }
    if (options.states) {
      params.push([...options.states]);
      where.push(`f.state = ANY($${params.length})`);
    }
    params.push(options.limit);
    const { rows } = await this.db.query<FileRow>(
      `${CARD_SELECT} WHERE ${where.join(' AND ')} ORDER BY f.offered_at DESC, f.rev DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toFileCard);
  }

  async changedSince(userId: number, rev: number, limit: number): Promise<FileCard[]> {
    const { rows } = await this.db.query<FileRow>(
      `SELECT * FROM (${CARD_SELECT} WHERE f.sender_id = $1 AND f.rev > $2
         UNION ALL ${CARD_SELECT} WHERE f.recipient_id = $1 AND f.rev > $2) cards
       ORDER BY file_rev LIMIT $3`,
      [userId, rev, limit],
    );
    return rows.map(toFileCard);
  }

  async expiring(now: number, limit: number): Promise<FileCard[]> {
    const { rows } = await this.db.query<FileRow>(`${CARD_SELECT} WHERE f.state IN ('offered', 'accepted') AND f.expires_at <= $1 LIMIT $2`, [now, limit]);
    return rows.map(toFileCard);
  }

  async completedBefore(before: number, limit: number): Promise<FileCard[]> {
    const { rows } = await this.db.query<FileRow>(`${CARD_SELECT} WHERE f.state = 'completed' AND f.completed_at <= $1 LIMIT $2`, [before, limit]);
    return rows.map(toFileCard);
  }
}
