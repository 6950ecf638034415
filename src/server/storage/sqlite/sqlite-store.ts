import type Database from 'better-sqlite3';
import {
  WORLD,
  dmMembers,
  dmPeer,
  type ConversationId,
  type ConversationSummary,
  type Message,
  type UserRef,
} from '../../../protocol/index.ts';
import type { CommitResult, NameKeys, NewUser, PendingMessage, SessionRecord, Store, UserRecord } from '../store.ts';
import { upgradeNameKeys } from './sqlite-name-keys.ts';
import { openDatabase, type Durability } from './open-database.ts';
import { FILE_COLUMNS, FILE_JOIN, SqliteFileRecords, toFileCard, type FileRow } from './sqlite-file-records.ts';

/** Unread counts stop counting here; the UI shows "999+" long before. */
const UNREAD_COUNT_CAP = 9999;

interface MessageRow extends FileRow {
  conv_id: string;
  seq: number;
  ts: number;
  sender_id: number;
  sender_name: string;
  client_id: string;
  text: string;
}

// An offer message carries its file card, joined on (conv_id, seq): one index lookup per row.
const MESSAGE_COLUMNS = `m.conv_id, m.seq, m.ts, m.sender_id, u.name AS sender_name, m.client_id, m.text, ${FILE_COLUMNS}
  FROM messages m JOIN users u ON u.id = m.sender_id ${FILE_JOIN}`;

function toMessage(row: MessageRow): Message {
  const message: Message = {
    conv: row.conv_id,
    seq: row.seq,
    ts: row.ts,
    sender: { id: row.sender_id, name: row.sender_name },
    clientId: row.client_id,
    text: row.text,
  };
  if (row.file_id !== null) message.file = toFileCard(row);
  return message;
}

type UserRow = { id: number; name: string; name_key: string; password_hash: string; created_at: number };

function toUserRecord(row: UserRow | undefined): UserRecord | null {
  if (!row) return null;
  return { id: row.id, name: row.name, nameKey: row.name_key, passwordHash: row.password_hash, createdAt: row.created_at };
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Last committed seq per conversation; this process is the only writer. */
  private readonly lastSeqs = new Map<ConversationId, number>();
  private readonly sql;
  readonly files: SqliteFileRecords;

  constructor(file: string, durability: Durability = 'full') {
    this.db = openDatabase(file, durability);
    const db = this.db;
    this.files = new SqliteFileRecords(db);
    this.sql = {
      insertUser: db.prepare(
        `INSERT INTO users (name, name_key, password_hash, created_at, name_skeleton)
         SELECT :name, :nameKey, :passwordHash, :createdAt, :skeleton
         WHERE NOT EXISTS (SELECT 1 FROM users WHERE name_skeleton = :skeleton)
         ON CONFLICT (name_key) DO NOTHING`,
      ),
      joinWorld: db.prepare(
        `INSERT INTO memberships (user_id, conv_id, read_seq)
         SELECT ?, id, last_seq FROM conversations WHERE id = '${WORLD}'`,
      ),
      userByNameKey: db.prepare('SELECT id, name, name_key, password_hash, created_at FROM users WHERE name_key = ?'),
      userByName: db.prepare('SELECT id, name, name_key, password_hash, created_at FROM users WHERE name = ?'),
      userById: db.prepare('SELECT id, name FROM users WHERE id = ?'),
      insertSession: db.prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)'),
      sessionByHash: db.prepare('SELECT user_id, expires_at FROM sessions WHERE token_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE token_hash = ?'),
      byClientId: db.prepare(`SELECT ${MESSAGE_COLUMNS} WHERE m.sender_id = ? AND m.client_id = ?`),
      lastSeq: db.prepare('SELECT last_seq FROM conversations WHERE id = ?'),
      insertConversation: db.prepare(
        "INSERT INTO conversations (id, kind, last_seq, created_at) VALUES (?, 'dm', 0, ?) ON CONFLICT (id) DO NOTHING",
      ),
      insertMembership: db.prepare(
        'INSERT INTO memberships (user_id, conv_id, read_seq) VALUES (?, ?, 0) ON CONFLICT DO NOTHING',
      ),
      // A retried send conflicts on the (sender_id, client_id) index and inserts nothing; see commit().
      insertMessage: db.prepare(
        `INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (sender_id, client_id) DO NOTHING`,
      ),
      setLastSeq: db.prepare('UPDATE conversations SET last_seq = ? WHERE id = ?'),
      advanceRead: db.prepare(
        'UPDATE memberships SET read_seq = max(read_seq, ?) WHERE user_id = ? AND conv_id = ? RETURNING read_seq',
      ),
      readSeq: db.prepare('SELECT read_seq FROM memberships WHERE user_id = ? AND conv_id = ?'),
      pageBefore: db.prepare(
        `SELECT ${MESSAGE_COLUMNS} WHERE m.conv_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`,
      ),
      after: db.prepare(`SELECT ${MESSAGE_COLUMNS} WHERE m.conv_id = ? AND m.seq > ? ORDER BY m.seq ASC LIMIT ?`),
      memberships: db.prepare(
        `SELECT c.id, c.kind, c.last_seq, ms.read_seq FROM memberships ms JOIN conversations c ON c.id = ms.conv_id
         WHERE ms.user_id = ? ORDER BY c.kind = 'world' DESC, c.last_seq DESC`,
      ),
      unread: db.prepare(
        `SELECT count(*) AS n FROM (SELECT 1 FROM messages WHERE conv_id = ? AND seq > ? AND sender_id <> ? LIMIT ${UNREAD_COUNT_CAP})`,
      ),
    };
  }

  async createUser({ skeleton, ...user }: NewUser): Promise<UserRecord | null> {
    return this.db.transaction(() => {
      const info = this.sql.insertUser.run({ ...user, skeleton: skeleton ?? user.nameKey });
      if (info.changes === 0) return null;
      const id = Number(info.lastInsertRowid);
      this.sql.joinWorld.run(id);
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

  async createSession(tokenHash: Buffer, session: SessionRecord & { createdAt: number }): Promise<void> {
    this.sql.insertSession.run(tokenHash, session.userId, session.createdAt, session.expiresAt);
  }

  async sessionByTokenHash(tokenHash: Buffer): Promise<SessionRecord | null> {
    const row = this.sql.sessionByHash.get(tokenHash) as { user_id: number; expires_at: number } | undefined;
    return row ? { userId: row.user_id, expiresAt: row.expires_at } : null;
  }

  async deleteSession(tokenHash: Buffer): Promise<void> {
    this.sql.deleteSession.run(tokenHash);
  }

  async commit(batch: readonly PendingMessage[]): Promise<CommitResult[]> {
    // Sequence numbers are handed out inside the transaction and published to the cache only
    // after it commits, so a failed batch leaves no hole and no phantom seq behind.
    const nextSeqs = new Map<ConversationId, number>();
    // Each sender's read position moves to their last message of the batch: one UPDATE per
    // (sender, conversation) per batch, not one per message (bench: ingest, docs/PERFORMANCE.md).
    const readUpTo = new Map<string, { userId: number; conv: ConversationId; seq: number }>();
    const transaction = this.db.transaction(() => {
      const results = batch.map((pending): CommitResult => {
        let members: UserRef[] | undefined;
        let seq = nextSeqs.get(pending.conv) ?? this.cachedLastSeq(pending.conv);
        if (seq === undefined) {
          // First message of a DM: a retry must not create the conversation, so look first.
          const original = this.sql.byClientId.get(pending.sender.id, pending.clientId) as MessageRow | undefined;
          if (original) return { message: toMessage(original), duplicate: true, createdConversation: false };
          members = this.createDirectConversation(pending.conv, pending.ts);
          seq = 0;
        }
        seq += 1;
        // The common case costs one INSERT: the unique (sender_id, client_id) index detects a
        // retried send, and only then is the original read back (bench: ingest).
        const inserted = this.sql.insertMessage.run(pending.conv, seq, pending.sender.id, pending.clientId, pending.text, pending.ts);
        if (inserted.changes === 0) {
          const original = this.sql.byClientId.get(pending.sender.id, pending.clientId) as MessageRow;
          return { message: toMessage(original), duplicate: true, createdConversation: false };
        }
        nextSeqs.set(pending.conv, seq);
        readUpTo.set(`${pending.sender.id}:${pending.conv}`, { userId: pending.sender.id, conv: pending.conv, seq });
        const { file, ...fields } = pending;
        const message: Message = { ...fields, seq };
        if (file) message.file = this.files.insertOffer(message, file);
        return members
          ? { message, duplicate: false, createdConversation: true, members }
          : { message, duplicate: false, createdConversation: false };
      });
      for (const [conv, seq] of nextSeqs) this.sql.setLastSeq.run(seq, conv);
      for (const { userId, conv, seq } of readUpTo.values()) this.sql.advanceRead.run(seq, userId, conv);
      return results;
    });
    const committed = transaction.immediate();
    for (const [conv, seq] of nextSeqs) {
      this.lastSeqs.set(conv, seq);
    }
    return committed;
  }

  private cachedLastSeq(conv: ConversationId): number | undefined {
    const cached = this.lastSeqs.get(conv);
    if (cached !== undefined) return cached;
    const row = this.sql.lastSeq.get(conv) as { last_seq: number } | undefined;
    if (row) this.lastSeqs.set(conv, row.last_seq);
    return row?.last_seq;
  }

  /** Creates a DM and its two memberships; runs inside the commit transaction. */
  private createDirectConversation(conv: ConversationId, ts: number): UserRef[] {
    const ids = dmMembers(conv);
    if (!ids) throw new Error(`Conversation ${conv} does not exist and is not a direct conversation.`);
    this.sql.insertConversation.run(conv, ts);
    return ids.map((userId) => {
      this.sql.insertMembership.run(userId, conv);
      const user = this.sql.userById.get(userId) as UserRef | undefined;
      if (!user) throw new Error(`User ${userId} of ${conv} does not exist.`);
      return user;
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
    return this.cachedLastSeq(conv) ?? 0;
  }

  async conversationsOf(user: UserRef): Promise<ConversationSummary[]> {
    const rows = this.sql.memberships.all(user.id) as { id: string; kind: 'world' | 'dm'; last_seq: number; read_seq: number }[];
    return rows.map((row) => {
      const summary: ConversationSummary = {
        id: row.id,
        kind: row.kind,
        lastSeq: row.last_seq,
        readSeq: row.read_seq,
        unread: this.unreadCount(row.id, row.read_seq, user.id),
      };
      if (row.kind === 'dm') {
        const peerId = dmPeer(row.id, user.id);
        const peer = peerId === null ? undefined : (this.sql.userById.get(peerId) as UserRef | undefined);
        if (peer) summary.peer = peer;
      }
      const last = this.sql.pageBefore.get(row.id, Number.MAX_SAFE_INTEGER, 1) as MessageRow | undefined;
      if (last) summary.last = toMessage(last);
      return summary;
    });
  }

  async markRead(userId: number, conv: ConversationId, seq: number) {
    const lastSeq = this.cachedLastSeq(conv) ?? 0;
    const row = this.sql.advanceRead.get(Math.min(seq, lastSeq), userId, conv) as { read_seq: number } | undefined;
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
