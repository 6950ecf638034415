import { randomBytes } from 'node:crypto';
import { systemText, type ConversationId, type ConversationKind, type Message, type SystemEvent, type UserRef } from '../../../protocol/index.ts';
import type { Queryable } from './database.ts';

export type ConversationState = { kind: ConversationKind; lastSeq: number; members: number[] | null };

/**
 * The statements every kind of commit shares: the server-wide rev, a conversation's state and
 * members, and appending a system message. Each runs inside the caller's transaction and caches
 * nothing across transactions: other nodes write to the same database.
 */

/** Takes the next server-wide rev. The counter's row stays locked until the transaction ends, so revs commit in order. */
export async function nextRev(tx: Queryable): Promise<number> {
  const { rows } = await tx.query<{ value: number }>("UPDATE counters SET value = value + 1 WHERE name = 'rev' RETURNING value");
  return rows[0]!.value;
}

export async function memberIds(db: Queryable, conv: ConversationId): Promise<number[]> {
  const { rows } = await db.query<{ user_id: number }>('SELECT user_id FROM memberships WHERE conv_id = $1 ORDER BY user_id', [conv]);
  return rows.map((row) => row.user_id);
}

/**
 * Kind, last seq and (except for the world) members of conversations, as of now. With `lock`,
 * their rows are locked first, in id order (so two writers cannot deadlock on them), and
 * stay locked to the end of the transaction: no other node can hand out their next seqs or
 * change their members meanwhile.
 */
export async function states(db: Queryable, convs: readonly ConversationId[], lock = false): Promise<Map<ConversationId, ConversationState>> {
  const { rows } = await db.query<{ id: string; kind: ConversationKind; last_seq: number }>(
    `SELECT id, kind, last_seq FROM conversations WHERE id = ANY($1) ORDER BY id${lock ? ' FOR UPDATE' : ''}`,
    [convs],
  );
  const result = new Map<ConversationId, ConversationState>();
  for (const row of rows) result.set(row.id, { kind: row.kind, lastSeq: row.last_seq, members: row.kind === 'world' ? null : [] });
  const others = rows.filter((row) => row.kind !== 'world').map((row) => row.id);
  if (others.length > 0) {
    const members = await db.query<{ conv_id: string; user_id: number }>(
      'SELECT conv_id, user_id FROM memberships WHERE conv_id = ANY($1) ORDER BY conv_id, user_id',
      [others],
    );
    for (const row of members.rows) result.get(row.conv_id)!.members!.push(row.user_id);
  }
  return result;
}

export async function state(db: Queryable, conv: ConversationId, lock = false): Promise<ConversationState | null> {
  return (await states(db, [conv], lock)).get(conv) ?? null;
}

export async function lastSeq(db: Queryable, conv: ConversationId): Promise<number> {
  const { rows } = await db.query<{ last_seq: number }>('SELECT last_seq FROM conversations WHERE id = $1', [conv]);
  return rows[0]?.last_seq ?? 0;
}

/** Appends a system message with the conversation's next seq, taken (and locked) in one statement. */
export async function appendSystem(tx: Queryable, conv: ConversationId, sender: UserRef, system: SystemEvent, ts: number): Promise<Message> {
  const { rows } = await tx.query<{ last_seq: number }>('UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq', [conv]);
  const seq = rows[0]!.last_seq;
  const clientId = `sys-${randomBytes(12).toString('base64url')}`;
  const text = systemText(sender, system);
  await tx.query(
    'INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts, system) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [conv, seq, sender.id, clientId, text, ts, JSON.stringify(system)],
  );
  return { conv, seq, ts, sender, clientId, text, system };
}
