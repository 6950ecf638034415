import type { ConversationId, ConversationKind, Message, UserRef } from '../../../protocol/index.ts';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from '../sqlite/sqlite-store.ts';
import type { CommitResult, CreatedMembership, PendingMessage } from '../store.ts';
import type { Queryable } from './database.ts';
import type { PostgresFileRecords } from './postgres-file-records.ts';
import { nextRev, state, states } from './postgres-log.ts';

interface Conversation {
  kind: ConversationKind;
  seq: number;
  members: number[] | null;
  dirty: boolean;
}

/**
 * Store.commit on PostgreSQL, inside the caller's transaction. The rows of every conversation
 * of the batch are locked first (in id order, so two nodes cannot deadlock on them); from then
 * until the commit no other node can take their next seq or change their members, so seqs are
 * dense across nodes and a rollback leaves no hole. A (sender, clientId) stored before, by any
 * node, is found by the unique index and its original returned.
 */
export async function commitBatch(tx: Queryable, files: PostgresFileRecords, batch: readonly PendingMessage[]): Promise<CommitResult[]> {
  const locked = await states(tx, [...new Set(batch.map((p) => p.conv))], true);
  const conversations = new Map<ConversationId, Conversation>();
  for (const [conv, s] of locked) conversations.set(conv, { kind: s.kind, seq: s.lastSeq, members: s.members, dirty: false });
  // Each sender's read position moves to their last message of the batch: one UPDATE per (sender, conversation).
  const readUpTo = new Map<string, { userId: number; conv: ConversationId; seq: number }>();
  const results: CommitResult[] = [];
  for (const pending of batch) results.push(await commitOne(pending));
  for (const [conv, { seq, dirty }] of conversations) {
    if (dirty) await tx.query('UPDATE conversations SET last_seq = $1 WHERE id = $2', [seq, conv]);
  }
  for (const { userId, conv, seq } of readUpTo.values()) {
    await tx.query('UPDATE memberships SET read_seq = GREATEST(read_seq, $1) WHERE user_id = $2 AND conv_id = $3', [seq, userId, conv]);
  }
  return results;

  async function commitOne(pending: PendingMessage): Promise<CommitResult> {
    let created: CreatedMembership[] = [];
    let conversation = conversations.get(pending.conv);
    if (!conversation) {
      // First message of a DM: a retry must not create the conversation, so look first.
      const original = await originalOf(tx, pending);
      if (original) return original;
      if (!pending.direct) return { ok: false, reason: 'not-member' };
      created = await createDirect(tx, pending.conv, pending.direct, pending.ts);
      if (created.length > 0) conversation = { kind: 'dm', seq: 0, members: pending.direct.map((user) => user.id), dirty: false };
      else {
        // Another node created it a moment ago: lock it and go on as with any conversation.
        const s = (await state(tx, pending.conv, true))!;
        conversation = { kind: s.kind, seq: s.lastSeq, members: s.members, dirty: false };
      }
      conversations.set(pending.conv, conversation);
    }
    if (conversation.members !== null && !conversation.members.includes(pending.sender.id)) {
      return (await originalOf(tx, pending)) ?? { ok: false, reason: 'not-member' };
    }
    const seq = conversation.seq + 1;
    // The common case costs one INSERT: the unique (sender_id, client_id) index detects a retried
    // send (it waits for another node's transaction holding the same key, then sees its row).
    const inserted = await tx.query(
      `INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (sender_id, client_id) DO NOTHING`,
      [pending.conv, seq, pending.sender.id, pending.clientId, pending.text, pending.ts],
    );
    if (inserted.rowCount === 0) return (await originalOf(tx, pending))!;
    conversation.seq = seq;
    conversation.dirty = true;
    readUpTo.set(`${pending.sender.id}:${pending.conv}`, { userId: pending.sender.id, conv: pending.conv, seq });
    const { file, direct: _direct, ...fields } = pending;
    const message: Message = { ...fields, seq };
    if (file) message.file = await files.insertOffer(tx, message, file);
    return { ok: true, message, duplicate: false, convKind: conversation.kind, members: conversation.members, created };
  }
}

/** The message this sender already stored with this client id, as a duplicate result. */
async function originalOf(tx: Queryable, pending: PendingMessage): Promise<CommitResult | null> {
  const { rows } = await tx.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} WHERE m.sender_id = $1 AND m.client_id = $2`, [
    pending.sender.id,
    pending.clientId,
  ]);
  if (!rows[0]) return null;
  const s = (await state(tx, rows[0].conv_id))!;
  return { ok: true, message: toMessage(rows[0]), duplicate: true, convKind: s.kind, members: s.members, created: [] };
}

/** Creates a DM and its two memberships; nothing (an empty list) when another node just created it. */
async function createDirect(tx: Queryable, conv: ConversationId, members: readonly [UserRef, UserRef], ts: number): Promise<CreatedMembership[]> {
  const inserted = await tx.query(
    "INSERT INTO conversations (id, kind, last_seq, created_at, member_count) VALUES ($1, 'dm', 0, $2, 2) ON CONFLICT (id) DO NOTHING",
    [conv, ts],
  );
  if (inserted.rowCount === 0) return [];
  const created: CreatedMembership[] = [];
  for (const user of members) {
    const rev = await nextRev(tx);
    await tx.query('INSERT INTO memberships (user_id, conv_id, read_seq, joined_at, rev) VALUES ($1, $2, 0, $3, $4)', [user.id, conv, ts, rev]);
    created.push({ user, rev });
  }
  return created;
}
