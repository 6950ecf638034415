import type { ConversationId, ConversationKind, Message, UserRef } from '../../../protocol/index.ts';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from '../rows/messages.ts';
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
 * Thrown when the batch's one INSERT met a (sender, clientId) that another node stored after this
 * transaction looked (only possible through a DM created meanwhile): the transaction is rolled
 * back, seqs and all, and the batch runs again `oneByOne`.
 */
export class ConcurrentDuplicate extends Error {}

/**
 * Store.commit on PostgreSQL, inside the caller's transaction. The rows of every conversation
 * of the batch are locked first (in id order, so two nodes cannot deadlock on them); from then
 * until the commit no other node can take their next seq or change their members, so seqs are
 * dense across nodes and a rollback leaves no hole. The (sender, clientId) pairs already stored,
 * by any node, are read in one query after the locks, and their originals returned.
 *
 * The new messages are written by one INSERT for the whole batch (a round trip per message
 * would cost far more than the group commit saves); `oneByOne` writes each with its own and
 * settles a conflict on the spot, the way after a ConcurrentDuplicate.
 */
export async function commitBatch(
  tx: Queryable,
  files: PostgresFileRecords,
  batch: readonly PendingMessage[],
  oneByOne = false,
): Promise<CommitResult[]> {
  const locked = await states(tx, [...new Set(batch.map((p) => p.conv))], true);
  const conversations = new Map<ConversationId, Conversation>();
  for (const [conv, s] of locked) conversations.set(conv, { kind: s.kind, seq: s.lastSeq, members: s.members, dirty: false });
  const stored = await originalsOf(tx, batch);
  /** Messages of this batch by sender and client id: a repeat within the batch returns the first. */
  const committed = new Map<string, { message: Message; conversation: Conversation }>();
  const rows: [ConversationId, number, number, string, string, number][] = [];
  // Each sender's read position moves to their last message of the batch.
  const readUpTo = new Map<string, { userId: number; conv: ConversationId; seq: number }>();
  const results: CommitResult[] = [];
  for (const pending of batch) results.push(await commitOne(pending));
  // The conversations' last seqs and the senders' read positions move in one statement each,
  // however many conversations the batch touched (a batch of DMs touches one per message; a
  // round trip per row cost more than the rest of the commit). With the batch's INSERT they are
  // one round trip: data-modifying WITH clauses all run, once, whether or not the query reads them.
  const advanced = [...conversations].filter(([, c]) => c.dirty);
  const reads = [...readUpTo.values()];
  const positions = [
    advanced.map(([conv]) => conv), advanced.map(([, c]) => c.seq),
    reads.map((r) => r.userId), reads.map((r) => r.conv), reads.map((r) => r.seq),
  ];
  if (rows.length > 0 && !oneByOne) {
    const { rows: [count] } = await tx.query<{ inserted: number }>(
      `WITH inserted AS (
         INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[])
         ON CONFLICT (sender_id, client_id) DO NOTHING
         RETURNING 1
       ), ${advanceClause(7)}, ${readUpToClause(9)}
       SELECT count(*)::int AS inserted FROM inserted`,
      [...[0, 1, 2, 3, 4, 5].map((column) => rows.map((row) => row[column])), ...positions],
    );
    // Another node stored one of these (sender, clientId) pairs meanwhile: everything above rolls back with the transaction.
    if (count!.inserted !== rows.length) throw new ConcurrentDuplicate();
  } else if (advanced.length > 0 || reads.length > 0) {
    await tx.query(`WITH ${advanceClause(1)}, ${readUpToClause(3)} SELECT 1`, positions);
  }
  return results;

  async function commitOne(pending: PendingMessage): Promise<CommitResult> {
    const key = `${pending.sender.id}:${pending.clientId}`;
    const original = stored.get(key);
    if (original) return duplicateOf(tx, original);
    const repeated = committed.get(key);
    if (repeated) {
      const { kind, members } = repeated.conversation;
      return { ok: true, message: repeated.message, duplicate: true, convKind: kind, members, created: [] };
    }
    let created: CreatedMembership[] = [];
    let conversation = conversations.get(pending.conv);
    if (!conversation) {
      // First message of a DM (a retry was caught above and does not create it).
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
    if (conversation.members !== null && !conversation.members.includes(pending.sender.id)) return { ok: false, reason: 'not-member' };
    const seq = conversation.seq + 1;
    const row: (typeof rows)[number] = [pending.conv, seq, pending.sender.id, pending.clientId, pending.text, pending.ts];
    if (oneByOne) {
      // ON CONFLICT waits for another node's transaction holding the same key, then sees its row.
      const inserted = await tx.query(
        `INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (sender_id, client_id) DO NOTHING`,
        row,
      );
      if (inserted.rowCount === 0) return duplicateOf(tx, (await originalsOf(tx, [pending])).get(key)!);
    } else rows.push(row);
    conversation.seq = seq;
    conversation.dirty = true;
    readUpTo.set(`${pending.sender.id}:${pending.conv}`, { userId: pending.sender.id, conv: pending.conv, seq });
    const { file, direct: _direct, ...fields } = pending;
    const message: Message = { ...fields, seq };
    if (file) message.file = await files.insertOffer(tx, message, file);
    committed.set(key, { message, conversation });
    return { ok: true, message, duplicate: false, convKind: conversation.kind, members: conversation.members, created };
  }
}

/** A WITH clause setting conversations' last seqs (parameters `first`: ids, `first + 1`: seqs); their rows are locked by then. */
const advanceClause = (first: number) =>
  `advanced AS (UPDATE conversations c SET last_seq = v.seq FROM unnest($${first}::text[], $${first + 1}::bigint[]) AS v(id, seq) WHERE c.id = v.id)`;
/** A WITH clause moving senders' read positions forward (parameters `first` .. `first + 2`: user ids, conversations, seqs). */
const readUpToClause = (first: number) =>
  `read_up_to AS (UPDATE memberships m SET read_seq = GREATEST(m.read_seq, v.seq)
   FROM unnest($${first}::bigint[], $${first + 1}::text[], $${first + 2}::bigint[]) AS v(user_id, conv_id, seq)
   WHERE m.user_id = v.user_id AND m.conv_id = v.conv_id)`;

/** The messages already stored under the batch's (sender, clientId) pairs, by `sender:clientId`. */
async function originalsOf(tx: Queryable, batch: readonly PendingMessage[]): Promise<Map<string, MessageRow>> {
  // Two arrays walk the unique (sender_id, client_id) index, whatever the table's size; a pair across
  // senders that this also finds is not looked up below.
  const { rows } = await tx.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} WHERE m.sender_id = ANY($1) AND m.client_id = ANY($2)`, [
    [...new Set(batch.map((p) => p.sender.id))],
    [...new Set(batch.map((p) => p.clientId))],
  ]);
  return new Map(rows.map((row) => [`${row.sender_id}:${row.client_id}`, row]));
}

/** A stored message as the result of a retried send. */
async function duplicateOf(tx: Queryable, row: MessageRow): Promise<CommitResult> {
  const s = (await state(tx, row.conv_id))!;
  return { ok: true, message: toMessage(row), duplicate: true, convKind: s.kind, members: s.members, created: [] };
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
