import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { systemText, type ConversationId, type ConversationKind, type Message, type SystemEvent, type UserRef } from '../../../protocol/index.ts';

/**
 * The statements every kind of commit shares: the server-wide rev, a conversation's state and
 * members, and appending a system message. Each is read or written inside the caller's
 * transaction, never cached across transactions (store.ts: no single-writer assumption).
 */
export class SqliteLog {
  private readonly sql;

  constructor(db: Database.Database) {
    this.sql = {
      nextRev: db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value"),
      state: db.prepare(
        // A CASE is evaluated lazily: the world's members (everyone) are never read.
        `SELECT kind, last_seq, CASE WHEN kind = 'world' THEN NULL
           ELSE (SELECT group_concat(user_id) FROM memberships WHERE conv_id = c.id) END AS members
         FROM conversations c WHERE id = ?`,
      ),
      memberIds: db.prepare('SELECT user_id FROM memberships WHERE conv_id = ?').pluck(),
      insertMessage: db.prepare(
        'INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts, system) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      lastSeq: db.prepare('SELECT last_seq FROM conversations WHERE id = ?').pluck(),
      setLastSeq: db.prepare('UPDATE conversations SET last_seq = ? WHERE id = ?'),
    };
  }

  /** Takes the next server-wide rev; only inside a transaction, so a rollback gives it back. */
  nextRev(): number {
    return (this.sql.nextRev.get() as { value: number }).value;
  }

  /** Kind, last seq and (except for the world) member ids of a conversation, as of this transaction. */
  state(conv: ConversationId): { kind: ConversationKind; lastSeq: number; members: number[] | null } | null {
    const row = this.sql.state.get(conv) as { kind: ConversationKind; last_seq: number; members: string | null } | undefined;
    if (!row) return null;
    const members = row.kind === 'world' ? null : row.members === null ? [] : row.members.split(',').map(Number);
    return { kind: row.kind, lastSeq: row.last_seq, members };
  }

  memberIds(conv: ConversationId): number[] {
    return this.sql.memberIds.all(conv) as number[];
  }

  lastSeq(conv: ConversationId): number {
    return (this.sql.lastSeq.get(conv) as number | undefined) ?? 0;
  }

  /** Appends a system message with the conversation's next seq. */
  appendSystem(conv: ConversationId, sender: UserRef, system: SystemEvent, ts: number): Message {
    const seq = this.lastSeq(conv) + 1;
    const clientId = `sys-${randomBytes(12).toString('base64url')}`;
    const text = systemText(sender, system);
    this.sql.insertMessage.run(conv, seq, sender.id, clientId, text, ts, JSON.stringify(system));
    this.sql.setLastSeq.run(seq, conv);
    return { conv, seq, ts, sender, clientId, text, system };
  }
}
