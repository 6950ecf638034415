import type Database from 'better-sqlite3';
import {
  WORLD,
  type ConversationId,
  type ConversationKind,
  type ConversationSummary,
  type Message,
  type RoomRole,
  type RoomVisibility,
  type UserRef,
} from '../../../protocol/index.ts';
import type { CommitResult, CreatedMembership, MembershipChange, MembershipRecord, NameKeys, NewUser, PendingMessage, SessionRecord, Store, UserRecord } from '../store.ts';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from '../rows/messages.ts';
import { toRoomInfo } from '../rows/rooms.ts';
import { toUserRecord, USER_COLUMNS, type UserRow } from '../rows/users.ts';
import { upgradeNameKeys } from './sqlite-name-keys.ts';
import { openDatabase, type Durability } from './open-database.ts';
import { SqliteFileRecords } from './sqlite-file-records.ts';
import { SqliteLog } from './sqlite-log.ts';
import { SqliteRooms } from './sqlite-rooms.ts';

/** Token hashes per statement in liveSessionsAmong. */
const SESSION_CHECK_CHUNK = 500;

/** Unread counts stop counting here; the UI shows "999+" long before. */
const UNREAD_COUNT_CAP = 9999;

interface SummaryRow {
  id: string;
  kind: ConversationKind;
  last_seq: number;
  read_seq: number;
  role: RoomRole;
  name: string | null;
  topic: string;
  visibility: RoomVisibility | null;
  member_count: number;
  rev: number;
}

const SUMMARY_SELECT = `SELECT c.id, c.kind, c.last_seq, ms.read_seq, ms.role, c.name, c.topic, c.visibility, c.member_count, c.rev
  FROM memberships ms JOIN conversations c ON c.id = ms.conv_id`;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly sql;
  private readonly log: SqliteLog;
  readonly files: SqliteFileRecords;
  readonly rooms: SqliteRooms;

  constructor(file: string, durability: Durability = 'full') {
    this.db = openDatabase(file, durability);
    const db = this.db;
    this.log = new SqliteLog(db);
    this.files = new SqliteFileRecords(db, this.log);
    this.rooms = new SqliteRooms(db, this.log);
    this.sql = {
      insertUser: db.prepare(
        `INSERT INTO users (name, name_key, password_hash, created_at, name_skeleton)
         SELECT :name, :nameKey, :passwordHash, :createdAt, :skeleton
         WHERE NOT EXISTS (SELECT 1 FROM users WHERE name_skeleton = :skeleton)
         ON CONFLICT (name_key) DO NOTHING`,
      ),
      joinWorld: db.prepare(
        `INSERT INTO memberships (user_id, conv_id, read_seq, joined_at)
         SELECT ?, id, last_seq, ? FROM conversations WHERE id = '${WORLD}'`,
      ),
      countWorldMember: db.prepare(`UPDATE conversations SET member_count = member_count + 1 WHERE id = '${WORLD}'`),
      userByNameKey: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE name_key = ?`),
      userByName: db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE name = ?`),
      userById: db.prepare('SELECT id, name FROM users WHERE id = ?'),
      usersByPrefix: db.prepare(
        'SELECT id, name, name_key FROM users WHERE name_key >= ? AND name_key < ? AND name_key > ? ORDER BY name_key LIMIT ?',
      ),
      insertSession: db.prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)'),
      sessionByHash: db.prepare('SELECT user_id, expires_at FROM sessions WHERE token_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE token_hash = ?'),
      deleteSessionsOf: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
      setPasswordHash: db.prepare('UPDATE users SET password_hash = ? WHERE id = ?'),
      deleteOtherSessionsOf: db.prepare('DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?'),
      byClientId: db.prepare(`SELECT ${MESSAGE_COLUMNS} WHERE m.sender_id = ? AND m.client_id = ?`),
      insertDirect: db.prepare("INSERT INTO conversations (id, kind, last_seq, created_at, member_count) VALUES (?, 'dm', 0, ?, 2)"),
      insertDirectMember: db.prepare('INSERT INTO memberships (user_id, conv_id, read_seq, joined_at, rev) VALUES (?, ?, 0, ?, ?)'),
      // A retried send conflicts on the (sender_id, client_id) index and inserts nothing; see commit().
      insertMessage: db.prepare(
        `INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (sender_id, client_id) DO NOTHING`,
      ),
      setLastSeq: db.prepare('UPDATE conversations SET last_seq = ? WHERE id = ?'),
      advanceRead: db.prepare(
        'UPDATE memberships SET read_seq = max(read_seq, ?) WHERE user_id = ? AND conv_id = ? RETURNING read_seq',
      ),
      // Never past the end: the position is clamped to the conversation's last seq, read in the same statement.
      markRead: db.prepare(
        `UPDATE memberships SET read_seq = max(read_seq, min(?, (SELECT last_seq FROM conversations WHERE id = ?)))
         WHERE user_id = ? AND conv_id = ? RETURNING read_seq`,
      ),
      membershipsSince: db.prepare(
        `SELECT user_id AS userId, conv_id AS conv, rev FROM memberships
         WHERE user_id IN (SELECT value FROM json_each(@users)) AND rev > @after ORDER BY rev`,
      ),
      lastRev: db.prepare("SELECT value FROM counters WHERE name = 'rev'"),
      membership: db.prepare(
        `SELECT c.kind, ms.role, ms.read_seq FROM memberships ms JOIN conversations c ON c.id = ms.conv_id
         WHERE ms.user_id = ? AND ms.conv_id = ?`,
      ),
      pageBefore: db.prepare(
        `SELECT ${MESSAGE_COLUMNS} WHERE m.conv_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`,
      ),
      after: db.prepare(`SELECT ${MESSAGE_COLUMNS} WHERE m.conv_id = ? AND m.seq > ? ORDER BY m.seq ASC LIMIT ?`),
      summaries: db.prepare(`${SUMMARY_SELECT} WHERE ms.user_id = ? ORDER BY c.kind = 'world' DESC, c.last_seq DESC`),
      summary: db.prepare(`${SUMMARY_SELECT} WHERE ms.user_id = ? AND ms.conv_id = ?`),
      peer: db.prepare('SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.conv_id = ? AND m.user_id <> ?'),
      unread: db.prepare(
        `SELECT count(*) AS n FROM (SELECT 1 FROM messages WHERE conv_id = ? AND seq > ? AND sender_id <> ? AND system IS NULL LIMIT ${UNREAD_COUNT_CAP})`,
      ),
    };
  }

  async createUser({ skeleton, ...user }: NewUser): Promise<UserRecord | null> {
    return this.db.transaction(() => {
      const info = this.sql.insertUser.run({ ...user, skeleton: skeleton ?? user.nameKey });
      if (info.changes === 0) return null;
      const id = Number(info.lastInsertRowid);
      this.sql.joinWorld.run(id, user.createdAt);
      this.sql.countWorldMember.run();
      return { ...user, id };
    })();
  }

  async userByNameKey(nameKey: string): Promise<UserRecord | null> {
    return toUserRecord(this.sql.userByNameKey.get(nameKey) as UserRow | undefined);
  }

  async userByName(name: string): Promise<UserRecord | null> {
    return toUserRecord(this.sql.userByName.get(name) as UserRow | undefined);
  }

  async upgradeNameKeys(keysOf: NameKeys): Promise<number> {
    return this.db.transaction(() => upgradeNameKeys(this.db, keysOf))();
  }

  async userById(id: number): Promise<UserRef | null> {
    return (this.sql.userById.get(id) as UserRef | undefined) ?? null;
  }

  async usersByPrefix(prefix: string, options: { after?: string; limit: number }) {
    // Name keys compare as UTF-8 bytes; U+10FFFF sorts after every key that starts with `prefix`.
    const rows = this.sql.usersByPrefix.all(prefix, `${prefix}\u{10FFFF}`, options.after ?? '', options.limit) as {
      id: number;
      name: string;
      name_key: string;
    }[];
    return rows.map((row) => ({ id: row.id, name: row.name, nameKey: row.name_key }));
  }

  async createSession(tokenHash: Buffer, session: SessionRecord & { createdAt: number }): Promise<void> {
    this.sql.insertSession.run(tokenHash, session.userId, session.createdAt, session.expiresAt);
  }

  async sessionByTokenHash(tokenHash: Buffer): Promise<SessionRecord | null> {
    const row = this.sql.sessionByHash.get(tokenHash) as { user_id: number; expires_at: number } | undefined;
    return row ? { userId: row.user_id, expiresAt: row.expires_at } : null;
  }

  async liveSessionsAmong(tokenHashes: readonly Buffer[], now: number): Promise<Set<string>> {
    const live = new Set<string>();
    // In chunks, each a statement of its own size: well under SQLite's bound on parameters.
    for (let start = 0; start < tokenHashes.length; start += SESSION_CHECK_CHUNK) {
      const chunk = tokenHashes.slice(start, start + SESSION_CHECK_CHUNK);
      const rows = this.db
        .prepare(`SELECT token_hash FROM sessions WHERE expires_at > ? AND token_hash IN (${chunk.map(() => '?').join(', ')})`)
        .all(now, ...chunk) as { token_hash: Buffer }[];
      for (const row of rows) live.add(row.token_hash.toString('hex'));
    }
    return live;
  }

  async deleteSession(tokenHash: Buffer): Promise<void> {
    this.sql.deleteSession.run(tokenHash);
  }

  async deleteSessionsOf(userId: number): Promise<void> {
    this.sql.deleteSessionsOf.run(userId);
  }

  async changePassword(userId: number, passwordHash: string, keep: Buffer): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.sql.setPasswordHash.run(passwordHash, userId).changes === 0) return false;
      this.sql.deleteOtherSessionsOf.run(userId, keep);
      return true;
    })();
  }

  async commit(batch: readonly PendingMessage[]): Promise<CommitResult[]> {
    // What this batch knows of each conversation, read once inside the transaction: kind, the
    // last seq handed out and the members (who may send, and who hears it).
    const conversations = new Map<ConversationId, { kind: ConversationKind; seq: number; members: number[] | null; dirty: boolean }>();
    // Each sender's read position moves to their last message of the batch: one UPDATE per
    // (sender, conversation) per batch, not one per message (bench: ingest, docs/PERFORMANCE.md).
    const readUpTo = new Map<string, { userId: number; conv: ConversationId; seq: number }>();
    const transaction = this.db.transaction(() => {
      const results = batch.map((pending): CommitResult => {
        let created: CreatedMembership[] = [];
        let conversation = conversations.get(pending.conv);
        if (!conversation) {
          const state = this.log.state(pending.conv);
          if (state) conversation = { kind: state.kind, seq: state.lastSeq, members: state.members, dirty: false };
          else {
            // First message of a DM: a retry must not create the conversation, so look first.
            const original = this.original(pending);
            if (original) return original;
            if (!pending.direct) return { ok: false, reason: 'not-member' };
            created = this.createDirect(pending.conv, pending.direct, pending.ts);
            conversation = { kind: 'dm', seq: 0, members: pending.direct.map((user) => user.id), dirty: false };
          }
          conversations.set(pending.conv, conversation);
        }
        if (conversation.members !== null && !conversation.members.includes(pending.sender.id)) {
          return this.original(pending) ?? { ok: false, reason: 'not-member' };
        }
        const seq = conversation.seq + 1;
        // The common case costs one INSERT: the unique (sender_id, client_id) index detects a
        // retried send, and only then is the original read back (bench: ingest).
        const inserted = this.sql.insertMessage.run(pending.conv, seq, pending.sender.id, pending.clientId, pending.text, pending.ts);
        if (inserted.changes === 0) return this.original(pending)!;
        conversation.seq = seq;
        conversation.dirty = true;
        readUpTo.set(`${pending.sender.id}:${pending.conv}`, { userId: pending.sender.id, conv: pending.conv, seq });
        const { file, direct: _direct, ...fields } = pending;
        const message: Message = { ...fields, seq };
        if (file) message.file = this.files.insertOffer(message, file);
        return { ok: true, message, duplicate: false, convKind: conversation.kind, members: conversation.members, created };
      });
      for (const [conv, { seq, dirty }] of conversations) if (dirty) this.sql.setLastSeq.run(seq, conv);
      for (const { userId, conv, seq } of readUpTo.values()) this.sql.advanceRead.run(seq, userId, conv);
      return results;
    });
    return transaction.immediate();
  }

  /** The message this sender already stored with this client id, as a duplicate result. */
  private original(pending: PendingMessage): CommitResult | null {
    const row = this.sql.byClientId.get(pending.sender.id, pending.clientId) as MessageRow | undefined;
    if (!row) return null;
    const state = this.log.state(row.conv_id)!;
    return { ok: true, message: toMessage(row), duplicate: true, convKind: state.kind, members: state.members, created: [] };
  }

  /** Creates a DM and its two memberships; runs inside the commit transaction. */
  private createDirect(conv: ConversationId, members: readonly [UserRef, UserRef], ts: number): CreatedMembership[] {
    this.sql.insertDirect.run(conv, ts);
    return members.map((user) => {
      const rev = this.log.nextRev();
      this.sql.insertDirectMember.run(user.id, conv, ts, rev);
      return { user, rev };
    });
  }

  async page(conv: ConversationId, limit: number, before?: number) {
    const rows = this.sql.pageBefore.all(conv, before ?? Number.MAX_SAFE_INTEGER, limit + 1) as MessageRow[];
    const hasMore = rows.length > limit;
    if (hasMore) rows.pop();
    return { messages: rows.reverse().map(toMessage), hasMore };
  }

  async after(conv: ConversationId, afterSeq: number, limit: number): Promise<Message[]> {
    return (this.sql.after.all(conv, afterSeq, limit) as MessageRow[]).map(toMessage);
  }

  async lastSeq(conv: ConversationId): Promise<number> {
    return this.log.lastSeq(conv);
  }

  async membership(userId: number, conv: ConversationId): Promise<MembershipRecord | null> {
    const row = this.sql.membership.get(userId, conv) as { kind: ConversationKind; role: RoomRole; read_seq: number } | undefined;
    return row ? { conv, kind: row.kind, role: row.role, readSeq: row.read_seq } : null;
  }

  async membershipsChangedSince(userIds: readonly number[], afterRev: number): Promise<MembershipChange[]> {
    return this.sql.membershipsSince.all({ users: JSON.stringify(userIds), after: afterRev }) as MembershipChange[];
  }

  async lastRev(): Promise<number> {
    return (this.sql.lastRev.get() as { value: number }).value;
  }

  async memberIds(conv: ConversationId): Promise<number[]> {
    return this.log.memberIds(conv);
  }

  async conversationState(conv: ConversationId) {
    return this.log.state(conv);
  }

  async conversationsOf(user: UserRef): Promise<ConversationSummary[]> {
    return (this.sql.summaries.all(user.id) as SummaryRow[]).map((row) => this.toSummary(row, user.id));
  }

  async conversationOf(user: UserRef, conv: ConversationId): Promise<ConversationSummary | null> {
    const row = this.sql.summary.get(user.id, conv) as SummaryRow | undefined;
    return row ? this.toSummary(row, user.id) : null;
  }

  private toSummary(row: SummaryRow, userId: number): ConversationSummary {
    const summary: ConversationSummary = {
      id: row.id,
      kind: row.kind,
      lastSeq: row.last_seq,
      readSeq: row.read_seq,
      unread: this.unreadCount(row.id, row.read_seq, userId),
    };
    if (row.kind === 'dm') {
      const peer = this.sql.peer.get(row.id, userId) as UserRef | undefined;
      if (peer) summary.peer = peer;
    }
    if (row.kind === 'room') {
      summary.room = toRoomInfo({ ...row, name: row.name!, visibility: row.visibility! });
      summary.role = row.role;
    }
    const last = this.sql.pageBefore.get(row.id, Number.MAX_SAFE_INTEGER, 1) as MessageRow | undefined;
    if (last) summary.last = toMessage(last);
    return summary;
  }

  async markRead(userId: number, conv: ConversationId, seq: number) {
    const row = this.sql.markRead.get(seq, conv, userId, conv) as { read_seq: number } | undefined;
    const readSeq = row?.read_seq ?? 0;
    return { readSeq, unread: row ? this.unreadCount(conv, readSeq, userId) : 0 };
  }

  private unreadCount(conv: ConversationId, readSeq: number, userId: number): number {
    return (this.sql.unread.get(conv, readSeq, userId) as { n: number }).n;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
