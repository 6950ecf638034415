import {
  WORLD,
  type ConversationId,
  type ConversationKind,
  type ConversationSummary,
  type Message,
  type RoomRole,
  type UserRef,
} from '../../../protocol/index.ts';
import type { MembershipChange, MembershipRecord, NameKeys, NewUser, PendingMessage, SessionRecord, Store, UserRecord } from '../store.ts';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from '../rows/messages.ts';
import { toUserRecord, USER_COLUMNS, type UserRow } from '../rows/users.ts';
import { commitBatch, ConcurrentDuplicate } from './postgres-commit.ts';
import { Database, QUERY_TIMEOUT_MS } from './database.ts';
import { migrate } from './migrate.ts';
import { PostgresFileRecords } from './postgres-file-records.ts';
import { lastSeq, memberIds, state } from './postgres-log.ts';
import { PostgresRooms } from './postgres-rooms.ts';
import { summaries, UNREAD_SQL } from './postgres-summaries.ts';

/**
 * The Store on PostgreSQL (`pg`), shared by every node of a cluster. Nothing is cached between
 * transactions: seqs, revs and members are read under row locks in the transaction that uses
 * them (postgres-commit.ts, postgres-rooms.ts). See docs/ARCHITECTURE.md, "Storage".
 */
export class PostgresStore implements Store {
  readonly files: PostgresFileRecords;
  readonly rooms: PostgresRooms;

  /** The connection pool, shared with the file bytes and upload leases of this node (files/file-storage.ts). */
  private constructor(readonly db: Database) {
    this.files = new PostgresFileRecords(db);
    this.rooms = new PostgresRooms(db);
  }

  /** Connects and brings the schema up to date (refusing one newer than this code). */
  /** `queryTimeoutMs`: QUERY_TIMEOUT_MS unless a test needs a shorter bound. */
  static async open(url: string, options: { poolSize?: number; queryTimeoutMs?: number } = {}): Promise<PostgresStore> {
    // The migrations run without the statements' bound: they may wait for another node's (a lock
    // held for as long as it migrates) or build an index over a large table.
    const setup = new Database(url, 1);
    try {
      await migrate(setup);
    } finally {
      await setup.close();
    }
    return new PostgresStore(new Database(url, options.poolSize, { queryTimeoutMs: options.queryTimeoutMs ?? QUERY_TIMEOUT_MS }));
  }

  /**
   * A secret shared by every node: the stored one, or `fresh` stored by the first node to ask (a
   * race between two first nodes keeps one of theirs, and both read it back).
   */
  async sharedSecret(name: string, fresh: Buffer): Promise<Buffer> {
    await this.db.query('INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, fresh]);
    const row = (await this.db.query<{ value: Buffer }>('SELECT value FROM secrets WHERE name = $1', [name])).rows[0];
    if (!row) throw new Error(`the shared secret ${name} could not be stored`);
    return row.value;
  }

  async createUser({ skeleton, ...user }: NewUser): Promise<UserRecord | null> {
    return this.db.transaction(async (tx) => {
      // The world's row lock serialises sign-ups across nodes: the look-alike check below has no unique index
      // (accounts from before the name rules may share a skeleton), so two look-alikes must not pass it at once.
      const world = await tx.query<{ last_seq: number }>(`SELECT last_seq FROM conversations WHERE id = '${WORLD}' FOR UPDATE`);
      const inserted = await tx.query<{ id: number }>(
        `INSERT INTO users (name, name_key, password_hash, created_at, name_skeleton)
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM users WHERE name_skeleton = $5)
         ON CONFLICT (name_key) DO NOTHING RETURNING id`,
        [user.name, user.nameKey, user.passwordHash, user.createdAt, skeleton ?? user.nameKey],
      );
      const id = inserted.rows[0]?.id;
      if (id === undefined) return null;
      await tx.query('INSERT INTO memberships (user_id, conv_id, read_seq, joined_at) VALUES ($1, $2, $3, $4)', [
        id, WORLD, world.rows[0]!.last_seq, user.createdAt,
      ]);
      await tx.query(`UPDATE conversations SET member_count = member_count + 1 WHERE id = '${WORLD}'`);
      return { ...user, id };
    });
  }

  async userByNameKey(nameKey: string): Promise<UserRecord | null> {
    return toUserRecord((await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE name_key = $1`, [nameKey])).rows[0]);
  }

  async userByName(name: string): Promise<UserRecord | null> {
    return toUserRecord((await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE name = $1`, [name])).rows[0]);
  }

  async upgradeNameKeys(keysOf: NameKeys): Promise<number> {
    return this.db.transaction(async (tx) => {
      // Locked: of two nodes starting together, the second finds nothing left to re-key.
      const { rows: pending } = await tx.query<{ id: number; name: string }>(
        "SELECT id, name FROM users WHERE name_skeleton = '' ORDER BY id FOR UPDATE",
      );
      if (pending.length === 0) return 0;
      // Old keys are set aside first, so the older of two accounts that now share a key gets it (see sqlite-name-keys.ts).
      await tx.query("UPDATE users SET name_key = 'rekey:' || id WHERE name_skeleton = ''");
      for (const { id, name } of pending) {
        const { nameKey, skeleton } = keysOf(name);
        const taken = await tx.query('SELECT 1 FROM users WHERE name_key = $1', [nameKey]);
        await tx.query('UPDATE users SET name_key = $1, name_skeleton = $2 WHERE id = $3', [
          taken.rowCount ? `legacy:${id}` : nameKey, skeleton, id,
        ]);
      }
      return pending.length;
    });
  }

  async userById(id: number): Promise<UserRef | null> {
    return (await this.db.query<UserRef>('SELECT id, name FROM users WHERE id = $1', [id])).rows[0] ?? null;
  }

  async usersByPrefix(prefix: string, options: { after?: string; limit: number }) {
    // Name keys compare as bytes (collation "C"); U+10FFFF sorts after every key that starts with `prefix`.
    const { rows } = await this.db.query<{ id: number; name: string; name_key: string }>(
      'SELECT id, name, name_key FROM users WHERE name_key >= $1 AND name_key < $2 AND name_key > $3 ORDER BY name_key LIMIT $4',
      [prefix, `${prefix}\u{10FFFF}`, options.after ?? '', options.limit],
    );
    return rows.map((row) => ({ id: row.id, name: row.name, nameKey: row.name_key }));
  }

  async createSession(tokenHash: Buffer, session: SessionRecord & { createdAt: number }): Promise<void> {
    await this.db.query('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
      tokenHash, session.userId, session.createdAt, session.expiresAt,
    ]);
  }

  async sessionByTokenHash(tokenHash: Buffer): Promise<SessionRecord | null> {
    const { rows } = await this.db.query<{ user_id: number; expires_at: number }>(
      'SELECT user_id, expires_at FROM sessions WHERE token_hash = $1',
      [tokenHash],
    );
    return rows[0] ? { userId: rows[0].user_id, expiresAt: rows[0].expires_at } : null;
  }

  async liveSessionsAmong(tokenHashes: readonly Buffer[], now: number): Promise<Set<string>> {
    if (tokenHashes.length === 0) return new Set();
    const { rows } = await this.db.query<{ token_hash: Buffer }>('SELECT token_hash FROM sessions WHERE token_hash = ANY($1::bytea[]) AND expires_at > $2', [
      tokenHashes,
      now,
    ]);
    return new Set(rows.map((row) => row.token_hash.toString('hex')));
  }

  async deleteSession(tokenHash: Buffer): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
  }

  async deleteSessionsOf(userId: number): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
  }

  async changePassword(userId: number, passwordHash: string, keep: Buffer): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const updated = await tx.query('UPDATE users SET password_hash = $1 WHERE id = $2', [passwordHash, userId]);
      if (updated.rowCount === 0) return false;
      await tx.query('DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2', [userId, keep]);
      return true;
    });
  }

  async commit(batch: readonly PendingMessage[]) {
    try {
      return await this.db.transaction((tx) => commitBatch(tx, this.files, batch));
    } catch (error) {
      if (!(error instanceof ConcurrentDuplicate)) throw error;
      return this.db.transaction((tx) => commitBatch(tx, this.files, batch, true));
    }
  }

  async page(conv: ConversationId, limit: number, before?: number) {
    const { rows } = await this.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} WHERE m.conv_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`,
      [conv, before ?? Number.MAX_SAFE_INTEGER, limit + 1],
    );
    const hasMore = rows.length > limit;
    if (hasMore) rows.pop();
    return { messages: rows.reverse().map(toMessage), hasMore };
  }

  async after(conv: ConversationId, afterSeq: number, limit: number): Promise<Message[]> {
    const { rows } = await this.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} WHERE m.conv_id = $1 AND m.seq > $2 ORDER BY m.seq ASC LIMIT $3`,
      [conv, afterSeq, limit],
    );
    return rows.map(toMessage);
  }

  lastSeq(conv: ConversationId): Promise<number> {
    return lastSeq(this.db, conv);
  }

  async membership(userId: number, conv: ConversationId): Promise<MembershipRecord | null> {
    const { rows } = await this.db.query<{ kind: ConversationKind; role: RoomRole; read_seq: number }>(
      `SELECT c.kind, ms.role, ms.read_seq FROM memberships ms JOIN conversations c ON c.id = ms.conv_id
       WHERE ms.user_id = $1 AND ms.conv_id = $2`,
      [userId, conv],
    );
    const row = rows[0];
    return row ? { conv, kind: row.kind, role: row.role, readSeq: row.read_seq } : null;
  }

  async membershipsChangedSince(userIds: readonly number[], afterRev: number): Promise<MembershipChange[]> {
    const { rows } = await this.db.query<{ user_id: string | number; conv: ConversationId; rev: string | number }>(
      'SELECT user_id, conv_id AS conv, rev FROM memberships WHERE user_id = ANY($1::bigint[]) AND rev > $2 ORDER BY rev',
      [userIds, afterRev],
    );
    return rows.map((row) => ({ userId: Number(row.user_id), conv: row.conv, rev: Number(row.rev) }));
  }

  async lastRev(): Promise<number> {
    const { rows } = await this.db.query<{ value: string | number }>("SELECT value FROM counters WHERE name = 'rev'");
    return Number(rows[0]!.value);
  }

  memberIds(conv: ConversationId): Promise<number[]> {
    return memberIds(this.db, conv);
  }

  conversationState(conv: ConversationId) {
    return state(this.db, conv);
  }

  async conversationsOf(user: UserRef): Promise<ConversationSummary[]> {
    return summaries(this.db, user.id);
  }

  async conversationOf(user: UserRef, conv: ConversationId): Promise<ConversationSummary | null> {
    return (await summaries(this.db, user.id, conv))[0] ?? null;
  }

  async markRead(userId: number, conv: ConversationId, seq: number) {
    // Never past the end: the position is clamped to the conversation's last seq, read in the same statement.
    const { rows } = await this.db.query<{ read_seq: number }>(
      `UPDATE memberships SET read_seq = GREATEST(read_seq, LEAST($1::bigint, (SELECT last_seq FROM conversations WHERE id = $2)))
       WHERE user_id = $3 AND conv_id = $2 RETURNING read_seq`,
      [seq, conv, userId],
    );
    const readSeq = rows[0]?.read_seq ?? 0;
    return { readSeq, unread: rows[0] ? await this.unreadCount(conv, readSeq, userId) : 0 };
  }

  private async unreadCount(conv: ConversationId, readSeq: number, userId: number): Promise<number> {
    const { rows } = await this.db.query<{ count: number }>(UNREAD_SQL, [conv, readSeq, userId]);
    return rows[0]!.count;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
