import {
  canManageRoom,
  canRemove,
  canSetRoles,
  type ConversationId,
  type Message,
  type RoomInfo,
  type RoomListing,
  type RoomRole,
  type SystemEvent,
  type UserRef,
} from '../../../protocol/index.ts';
import type { MemberChange, MemberState, NewRoom, RoomCommit, RoomDetailsChange, RoomRecords, RoomResult } from '../room-records.ts';
import { ROOM_COLUMNS, toMemberState, toRoomInfo, type MemberStateRow, type RoomRow } from '../rows/rooms.ts';
import type { Database, Queryable } from './database.ts';
import { appendSystem, lastSeq, memberIds, nextRev } from './postgres-log.ts';

/** Collects what one room transaction did, and finishes it (member count, the room's rev). */
class Change {
  readonly messages: Message[] = [];
  readonly members: MemberChange[] = [];
  detailsRev: number | null = null;
  private lastRev = 0;

  constructor(
    readonly tx: Queryable,
    readonly conv: ConversationId,
    readonly ts: number,
  ) {}

  async rev(): Promise<number> {
    return (this.lastRev = await nextRev(this.tx));
  }

  async say(sender: UserRef, event: SystemEvent): Promise<void> {
    this.messages.push(await appendSystem(this.tx, this.conv, sender, event, this.ts));
  }

  get changed(): boolean {
    return this.lastRev !== 0;
  }

  get newestRev(): number {
    return this.lastRev;
  }
}

/**
 * Rooms in PostgreSQL. Every change is one transaction that first locks the room's row, so
 * the role checks, the member changes and the system messages' seqs of two nodes never interleave.
 */
export class PostgresRooms implements RoomRecords {
  constructor(private readonly db: Database) {}

  async create(room: NewRoom, invited: readonly UserRef[]): Promise<RoomCommit> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO conversations (id, kind, last_seq, created_at, name, name_key, topic, visibility, member_count, rev)
         VALUES ($1, 'room', 0, $2, $3, $4, $5, $6, 0, 0)`,
        [room.conv, room.ts, room.name, room.nameKey, room.topic, room.visibility],
      );
      const change = new Change(tx, room.conv, room.ts);
      await this.add(change, room.owner, 'owner');
      await change.say(room.owner, { kind: 'created', name: room.name });
      for (const user of invited) {
        if (await this.add(change, user, 'member')) await change.say(room.owner, { kind: 'invited', user });
      }
      return this.finish(change);
    });
  }

  async info(conv: ConversationId): Promise<RoomInfo | null> {
    const row = await this.room(this.db, conv);
    return row ? toRoomInfo(row) : null;
  }

  async join(conv: ConversationId, user: UserRef, ts: number): Promise<RoomResult> {
    return this.db.transaction(async (tx): Promise<RoomResult> => {
      const room = await this.room(tx, conv, true);
      if (!room) return 'not-found';
      const change = new Change(tx, conv, ts);
      if ((await this.roleOf(tx, user.id, conv)) !== null) return this.finish(change);
      if (room.visibility !== 'public') return 'not-found';
      await this.add(change, user, 'member');
      await change.say(user, { kind: 'joined' });
      return this.finish(change);
    });
  }

  async leave(conv: ConversationId, user: UserRef, ts: number): Promise<RoomResult> {
    return this.db.transaction(async (tx): Promise<RoomResult> => {
      if (!(await this.room(tx, conv, true))) return 'not-found';
      const role = await this.roleOf(tx, user.id, conv);
      if (role === null) return 'not-found';
      const change = new Change(tx, conv, ts);
      await this.drop(change, user, user);
      await change.say(user, { kind: 'left' });
      if (role === 'owner') {
        const { rows } = await tx.query<UserRef>(
          `SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.conv_id = $1 ORDER BY m.role = 'admin' DESC, m.joined_at, m.user_id LIMIT 1`,
          [conv],
        );
        const heir = rows[0];
        if (heir) {
          await this.setRoleRow(tx, heir.id, conv, 'owner', await change.rev());
          change.members.push({ user: heir, change: 'role', role: 'owner', rev: change.newestRev });
          await change.say(user, { kind: 'role', user: heir, role: 'owner' });
        }
      }
      return this.finish(change);
    });
  }

  async invite(conv: ConversationId, actor: UserRef, users: readonly UserRef[], ts: number): Promise<RoomResult> {
    return this.db.transaction(async (tx): Promise<RoomResult> => {
      if (!(await this.room(tx, conv, true)) || (await this.roleOf(tx, actor.id, conv)) === null) return 'not-found';
      const change = new Change(tx, conv, ts);
      for (const user of users) {
        if (await this.add(change, user, 'member')) await change.say(actor, { kind: 'invited', user });
      }
      return this.finish(change);
    });
  }

  async remove(conv: ConversationId, actor: UserRef, user: UserRef, ts: number): Promise<RoomResult> {
    return this.db.transaction(async (tx): Promise<RoomResult> => {
      if (!(await this.room(tx, conv, true))) return 'not-found';
      const actorRole = await this.roleOf(tx, actor.id, conv);
      if (actorRole === null) return 'not-found';
      const role = await this.roleOf(tx, user.id, conv);
      if (role === null) return 'not-found';
      if (!canRemove(actorRole, role)) return 'forbidden';
      const change = new Change(tx, conv, ts);
      await this.drop(change, user, actor);
      await change.say(actor, { kind: 'removed', user });
      return this.finish(change);
    });
  }

  async update(conv: ConversationId, actor: UserRef, details: RoomDetailsChange, ts: number): Promise<RoomResult> {
    return this.db.transaction(async (tx): Promise<RoomResult> => {
      const room = await this.room(tx, conv, true);
      const actorRole = room ? await this.roleOf(tx, actor.id, conv) : null;
      if (!room || actorRole === null) return 'not-found';
      if (!canManageRoom(actorRole)) return 'forbidden';
      const change = new Change(tx, conv, ts);
      if (details.name && details.name.name !== room.name) {
        await tx.query('UPDATE conversations SET name = $1, name_key = $2 WHERE id = $3', [details.name.name, details.name.nameKey, conv]);
        change.detailsRev = await change.rev();
        await change.say(actor, { kind: 'renamed', name: details.name.name, from: room.name });
      }
      if (details.topic !== undefined && details.topic !== room.topic) {
        await tx.query('UPDATE conversations SET topic = $1 WHERE id = $2', [details.topic, conv]);
        change.detailsRev = await change.rev();
        await change.say(actor, { kind: 'topic', topic: details.topic });
      }
      if (details.visibility && details.visibility !== room.visibility) {
        await tx.query('UPDATE conversations SET visibility = $1 WHERE id = $2', [details.visibility, conv]);
        change.detailsRev = await change.rev();
        await change.say(actor, { kind: 'visibility', visibility: details.visibility });
      }
      return this.finish(change);
    });
  }

  async setRole(conv: ConversationId, actor: UserRef, user: UserRef, role: 'admin' | 'member', ts: number): Promise<RoomResult> {
    return this.db.transaction(async (tx): Promise<RoomResult> => {
      if (!(await this.room(tx, conv, true))) return 'not-found';
      const actorRole = await this.roleOf(tx, actor.id, conv);
      if (actorRole === null) return 'not-found';
      const current = await this.roleOf(tx, user.id, conv);
      if (current === null) return 'not-found';
      if (!canSetRoles(actorRole) || current === 'owner') return 'forbidden';
      const change = new Change(tx, conv, ts);
      if (current !== role) {
        await this.setRoleRow(tx, user.id, conv, role, await change.rev());
        change.members.push({ user, change: 'role', role, rev: change.newestRev });
        await change.say(actor, { kind: 'role', user, role });
      }
      return this.finish(change);
    });
  }

  async directory(userId: number, options: { prefix: string; after?: { nameKey: string; id: string }; limit: number }) {
    const { rows } = await this.db.query<RoomRow & { name_key: string; joined: boolean }>(
      `SELECT ${ROOM_COLUMNS}, c.name_key, (m.user_id IS NOT NULL) AS joined
       FROM conversations c LEFT JOIN memberships m ON m.conv_id = c.id AND m.user_id = $1
       WHERE c.kind = 'room' AND c.visibility = 'public' AND c.name_key >= $2 AND c.name_key < $3 AND (c.name_key, c.id) > ($4, $5)
       ORDER BY c.name_key, c.id LIMIT $6`,
      [userId, options.prefix, `${options.prefix}\u{10FFFF}`, options.after?.nameKey ?? '', options.after?.id ?? '', options.limit],
    );
    return rows.map((row): RoomListing & { nameKey: string } => ({ ...toRoomInfo(row), joined: row.joined, nameKey: row.name_key }));
  }

  async members(conv: ConversationId, options: { after?: string; limit: number }) {
    const { rows } = await this.db.query<{ id: number; name: string; name_key: string; role: RoomRole }>(
      `SELECT u.id, u.name, u.name_key, m.role FROM memberships m JOIN users u ON u.id = m.user_id
       WHERE m.conv_id = $1 AND u.name_key > $2 ORDER BY u.name_key LIMIT $3`,
      [conv, options.after ?? '', options.limit],
    );
    return rows.map((row) => ({ user: { id: row.id, name: row.name }, role: row.role, nameKey: row.name_key }));
  }

  async membersChangedSince(convs: readonly ConversationId[], afterRev: number): Promise<MemberState[]> {
    if (convs.length === 0) return [];
    // One statement, one snapshot: a member is either in the room (their row) or out (a departure), never both.
    const { rows } = await this.db.query<MemberStateRow>(
      `SELECT m.conv_id AS conv, u.id AS id, u.name AS name, m.role AS role, m.rev AS rev, u.id AS by_id, u.name AS by_name, c.member_count
       FROM memberships m JOIN users u ON u.id = m.user_id JOIN conversations c ON c.id = m.conv_id
       WHERE m.conv_id = ANY($1::text[]) AND m.rev > $2
       UNION ALL
       SELECT d.conv_id, u.id, u.name, NULL, d.rev, b.id, b.name, c.member_count
       FROM departures d JOIN users u ON u.id = d.user_id JOIN users b ON b.id = d.by_id JOIN conversations c ON c.id = d.conv_id
       WHERE d.conv_id = ANY($1::text[]) AND d.rev > $2
       ORDER BY rev`,
      [convs, afterRev],
    );
    return rows.map(toMemberState);
  }

  async departuresOf(userIds: readonly number[], afterRev: number): Promise<MemberState[]> {
    const { rows } = await this.db.query<MemberStateRow>(
      `SELECT d.conv_id AS conv, u.id, u.name, NULL AS role, d.rev, b.id AS by_id, b.name AS by_name, c.member_count
       FROM departures d JOIN users u ON u.id = d.user_id JOIN users b ON b.id = d.by_id JOIN conversations c ON c.id = d.conv_id
       WHERE d.user_id = ANY($1::bigint[]) AND d.rev > $2 ORDER BY d.rev`,
      [userIds, afterRev],
    );
    return rows.map(toMemberState);
  }

  /** The room's row; with `lock`, locked to the end of the transaction (every change takes it first). */
  private async room(db: Queryable, conv: ConversationId, lock = false): Promise<RoomRow | null> {
    const { rows } = await db.query<RoomRow>(
      `SELECT ${ROOM_COLUMNS} FROM conversations c WHERE c.id = $1 AND c.kind = 'room'${lock ? ' FOR UPDATE' : ''}`,
      [conv],
    );
    return rows[0] ?? null;
  }

  private async roleOf(tx: Queryable, userId: number, conv: ConversationId): Promise<RoomRole | null> {
    const { rows } = await tx.query<{ role: RoomRole }>('SELECT role FROM memberships WHERE user_id = $1 AND conv_id = $2', [userId, conv]);
    return rows[0]?.role ?? null;
  }

  private async setRoleRow(tx: Queryable, userId: number, conv: ConversationId, role: RoomRole, rev: number): Promise<void> {
    await tx.query('UPDATE memberships SET role = $1, rev = $2 WHERE user_id = $3 AND conv_id = $4', [role, rev, userId, conv]);
  }

  /** Adds a member, read up to the end as it is now; false when they already were one. */
  private async add(change: Change, user: UserRef, role: RoomRole): Promise<boolean> {
    if ((await this.roleOf(change.tx, user.id, change.conv)) !== null) return false;
    const rev = await change.rev();
    await change.tx.query(
      'INSERT INTO memberships (user_id, conv_id, read_seq, role, joined_at, rev) VALUES ($1, $2, $3, $4, $5, $6)',
      [user.id, change.conv, await lastSeq(change.tx, change.conv), role, change.ts, rev],
    );
    await change.tx.query('DELETE FROM departures WHERE conv_id = $1 AND user_id = $2', [change.conv, user.id]);
    change.members.push({ user, change: 'joined', role, rev });
    return true;
  }

  /** Takes `user` out of the room (`by`: themselves, or who removed them), and records the departure. */
  private async drop(change: Change, user: UserRef, by: UserRef): Promise<void> {
    await change.tx.query('DELETE FROM memberships WHERE user_id = $1 AND conv_id = $2', [user.id, change.conv]);
    const rev = await change.rev();
    await change.tx.query(
      `INSERT INTO departures (conv_id, user_id, by_id, rev) VALUES ($1, $2, $3, $4)
       ON CONFLICT (conv_id, user_id) DO UPDATE SET by_id = EXCLUDED.by_id, rev = EXCLUDED.rev`,
      [change.conv, user.id, by.id, rev],
    );
    change.members.push({ user, change: 'left', role: null, rev });
  }

  private async finish(change: Change): Promise<RoomCommit> {
    if (change.changed) {
      await change.tx.query(
        `UPDATE conversations SET rev = GREATEST(rev, $1), member_count = (SELECT count(*) FROM memberships WHERE conv_id = $2) WHERE id = $2`,
        [change.newestRev, change.conv],
      );
    }
    return {
      room: toRoomInfo((await this.room(change.tx, change.conv))!),
      messages: change.messages,
      members: change.members,
      detailsRev: change.detailsRev,
      memberIds: await memberIds(change.tx, change.conv),
    };
  }
}
