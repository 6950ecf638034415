import type Database from 'better-sqlite3';
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
import type { SqliteLog } from './sqlite-log.ts';

/** Collects what one room transaction did, and finishes it (member count, the room's rev). */
class Change {
  readonly messages: Message[] = [];
  readonly members: MemberChange[] = [];
  detailsRev: number | null = null;
  private lastRev = 0;

  constructor(
    private readonly log: SqliteLog,
    readonly conv: ConversationId,
    readonly ts: number,
  ) {}

  rev(): number {
    return (this.lastRev = this.log.nextRev());
  }

  say(sender: UserRef, event: SystemEvent): void {
    this.messages.push(this.log.appendSystem(this.conv, sender, event, this.ts));
  }

  get changed(): boolean {
    return this.lastRev !== 0;
  }

  get newestRev(): number {
    return this.lastRev;
  }
}

/** Rooms in SQLite, on the store's connection; every change is one immediate transaction. */
export class SqliteRooms implements RoomRecords {
  private readonly sql;

  constructor(
    private readonly db: Database.Database,
    private readonly log: SqliteLog,
  ) {
    this.sql = {
      insertRoom: db.prepare(
        `INSERT INTO conversations (id, kind, last_seq, created_at, name, name_key, topic, visibility, member_count, rev)
         VALUES (?, 'room', 0, ?, ?, ?, ?, ?, 0, 0)`,
      ),
      room: db.prepare(`SELECT ${ROOM_COLUMNS} FROM conversations c WHERE c.id = ? AND c.kind = 'room'`),
      finish: db.prepare(
        `UPDATE conversations SET rev = max(rev, ?), member_count = (SELECT count(*) FROM memberships WHERE conv_id = ?) WHERE id = ?`,
      ),
      role: db.prepare('SELECT role FROM memberships WHERE user_id = ? AND conv_id = ?').pluck(),
      addMember: db.prepare(
        'INSERT INTO memberships (user_id, conv_id, read_seq, role, joined_at, rev) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      dropMember: db.prepare('DELETE FROM memberships WHERE user_id = ? AND conv_id = ?'),
      addDeparture: db.prepare(
        `INSERT INTO departures (conv_id, user_id, by_id, rev) VALUES (?, ?, ?, ?)
         ON CONFLICT (conv_id, user_id) DO UPDATE SET by_id = excluded.by_id, rev = excluded.rev`,
      ),
      dropDeparture: db.prepare('DELETE FROM departures WHERE conv_id = ? AND user_id = ?'),
      // Read in one statement: a member is either in the room (their row) or out (a departure), never both.
      membersChanged: db.prepare(
        `SELECT m.conv_id AS conv, u.id AS id, u.name AS name, m.role AS role, m.rev AS rev, u.id AS by_id, u.name AS by_name, c.member_count
         FROM memberships m JOIN users u ON u.id = m.user_id JOIN conversations c ON c.id = m.conv_id
         WHERE m.conv_id IN (SELECT value FROM json_each(@convs)) AND m.rev > @after
         UNION ALL
         SELECT d.conv_id, u.id, u.name, NULL, d.rev, b.id, b.name, c.member_count
         FROM departures d JOIN users u ON u.id = d.user_id JOIN users b ON b.id = d.by_id JOIN conversations c ON c.id = d.conv_id
         WHERE d.conv_id IN (SELECT value FROM json_each(@convs)) AND d.rev > @after
         ORDER BY rev`,
      ),
      departuresOf: db.prepare(
        `SELECT d.conv_id AS conv, u.id, u.name, NULL AS role, d.rev, b.id AS by_id, b.name AS by_name, c.member_count
         FROM departures d JOIN users u ON u.id = d.user_id JOIN users b ON b.id = d.by_id JOIN conversations c ON c.id = d.conv_id
         WHERE d.user_id IN (SELECT value FROM json_each(@users)) AND d.rev > @after ORDER BY d.rev`,
      ),
      setRole: db.prepare('UPDATE memberships SET role = ?, rev = ? WHERE user_id = ? AND conv_id = ?'),
      successor: db.prepare(
        `SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.conv_id = ? ORDER BY m.role = 'admin' DESC, m.joined_at, m.user_id LIMIT 1`,
      ),
      setName: db.prepare('UPDATE conversations SET name = ?, name_key = ? WHERE id = ?'),
      setTopic: db.prepare('UPDATE conversations SET topic = ? WHERE id = ?'),
      setVisibility: db.prepare('UPDATE conversations SET visibility = ? WHERE id = ?'),
      directory: db.prepare(
        `SELECT ${ROOM_COLUMNS}, c.name_key, (m.user_id IS NOT NULL) AS joined
         FROM conversations c LEFT JOIN memberships m ON m.conv_id = c.id AND m.user_id = ?
         WHERE c.kind = 'room' AND c.visibility = 'public' AND c.name_key >= ? AND c.name_key < ? AND (c.name_key, c.id) > (?, ?)
         ORDER BY c.name_key, c.id LIMIT ?`,
      ),
      members: db.prepare(
        `SELECT u.id, u.name, u.name_key, m.role FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.conv_id = ? AND u.name_key > ? ORDER BY u.name_key LIMIT ?`,
      ),
    };
  }

  async create(room: NewRoom, invited: readonly UserRef[]): Promise<RoomCommit> {
    return this.db.transaction(() => {
      this.sql.insertRoom.run(room.conv, room.ts, room.name, room.nameKey, room.topic, room.visibility);
      const change = new Change(this.log, room.conv, room.ts);
      this.add(change, room.owner, 'owner');
      change.say(room.owner, { kind: 'created', name: room.name });
      for (const user of invited) {
        if (this.add(change, user, 'member')) change.say(room.owner, { kind: 'invited', user });
      }
      return this.finish(change);
    }).immediate();
  }

  async info(conv: ConversationId): Promise<RoomInfo | null> {
    const row = this.sql.room.get(conv) as RoomRow | undefined;
    return row ? toRoomInfo(row) : null;
  }

  async join(conv: ConversationId, user: UserRef, ts: number): Promise<RoomResult> {
    return this.db.transaction((): RoomResult => {
      const room = this.sql.room.get(conv) as RoomRow | undefined;
      if (!room) return 'not-found';
      const change = new Change(this.log, conv, ts);
      if (this.roleOf(user.id, conv) !== null) return this.finish(change);
      if (room.visibility !== 'public') return 'not-found';
      this.add(change, user, 'member');
      change.say(user, { kind: 'joined' });
      return this.finish(change);
    }).immediate();
  }

  async leave(conv: ConversationId, user: UserRef, ts: number): Promise<RoomResult> {
    return this.db.transaction((): RoomResult => {
      const role = this.roleOf(user.id, conv);
      if (role === null || !this.sql.room.get(conv)) return 'not-found';
      const change = new Change(this.log, conv, ts);
      this.drop(change, user, user);
      change.say(user, { kind: 'left' });
      if (role === 'owner') {
        const heir = this.sql.successor.get(conv) as UserRef | undefined;
        if (heir) {
          this.sql.setRole.run('owner', change.rev(), heir.id, conv);
          change.members.push({ user: heir, change: 'role', role: 'owner', rev: change.newestRev });
          change.say(user, { kind: 'role', user: heir, role: 'owner' });
        }
      }
      return this.finish(change);
    }).immediate();
  }

  async invite(conv: ConversationId, actor: UserRef, users: readonly UserRef[], ts: number): Promise<RoomResult> {
    return this.db.transaction((): RoomResult => {
      if (this.roleOf(actor.id, conv) === null || !this.sql.room.get(conv)) return 'not-found';
      const change = new Change(this.log, conv, ts);
      for (const user of users) {
        if (this.add(change, user, 'member')) change.say(actor, { kind: 'invited', user });
      }
      return this.finish(change);
    }).immediate();
  }

  async remove(conv: ConversationId, actor: UserRef, user: UserRef, ts: number): Promise<RoomResult> {
    return this.db.transaction((): RoomResult => {
      const actorRole = this.roleOf(actor.id, conv);
      if (actorRole === null || !this.sql.room.get(conv)) return 'not-found';
      const role = this.roleOf(user.id, conv);
      if (role === null) return 'not-found';
      if (!canRemove(actorRole, role)) return 'forbidden';
      const change = new Change(this.log, conv, ts);
      this.drop(change, user, actor);
      change.say(actor, { kind: 'removed', user });
      return this.finish(change);
    }).immediate();
  }

  async update(conv: ConversationId, actor: UserRef, details: RoomDetailsChange, ts: number): Promise<RoomResult> {
    return this.db.transaction((): RoomResult => {
      const actorRole = this.roleOf(actor.id, conv);
      const room = this.sql.room.get(conv) as RoomRow | undefined;
      if (actorRole === null || !room) return 'not-found';
      if (!canManageRoom(actorRole)) return 'forbidden';
      const change = new Change(this.log, conv, ts);
      if (details.name && details.name.name !== room.name) {
        this.sql.setName.run(details.name.name, details.name.nameKey, conv);
        change.detailsRev = change.rev();
        change.say(actor, { kind: 'renamed', name: details.name.name, from: room.name });
      }
      if (details.topic !== undefined && details.topic !== room.topic) {
        this.sql.setTopic.run(details.topic, conv);
        change.detailsRev = change.rev();
        change.say(actor, { kind: 'topic', topic: details.topic });
      }
      if (details.visibility && details.visibility !== room.visibility) {
        this.sql.setVisibility.run(details.visibility, conv);
        change.detailsRev = change.rev();
        change.say(actor, { kind: 'visibility', visibility: details.visibility });
      }
      return this.finish(change);
    }).immediate();
  }

  async setRole(conv: ConversationId, actor: UserRef, user: UserRef, role: 'admin' | 'member', ts: number): Promise<RoomResult> {
    return this.db.transaction((): RoomResult => {
      const actorRole = this.roleOf(actor.id, conv);
      if (actorRole === null || !this.sql.room.get(conv)) return 'not-found';
      const current = this.roleOf(user.id, conv);
      if (current === null) return 'not-found';
      if (!canSetRoles(actorRole) || current === 'owner') return 'forbidden';
      const change = new Change(this.log, conv, ts);
      if (current !== role) {
        this.sql.setRole.run(role, change.rev(), user.id, conv);
        change.members.push({ user, change: 'role', role, rev: change.newestRev });
        change.say(actor, { kind: 'role', user, role });
      }
      return this.finish(change);
    }).immediate();
  }

  async directory(userId: number, options: { prefix: string; after?: { nameKey: string; id: string }; limit: number }) {
    const rows = this.sql.directory.all(
      userId,
      options.prefix,
      `${options.prefix}\u{10FFFF}`,
      options.after?.nameKey ?? '',
      options.after?.id ?? '',
      options.limit,
    ) as (RoomRow & { name_key: string; joined: number })[];
    return rows.map((row): RoomListing & { nameKey: string } => ({ ...toRoomInfo(row), joined: row.joined === 1, nameKey: row.name_key }));
  }

  async members(conv: ConversationId, options: { after?: string; limit: number }) {
    const rows = this.sql.members.all(conv, options.after ?? '', options.limit) as { id: number; name: string; name_key: string; role: RoomRole }[];
    return rows.map((row) => ({ user: { id: row.id, name: row.name }, role: row.role, nameKey: row.name_key }));
  }

  async membersChangedSince(convs: readonly ConversationId[], afterRev: number): Promise<MemberState[]> {
    if (convs.length === 0) return [];
    return (this.sql.membersChanged.all({ convs: JSON.stringify(convs), after: afterRev }) as MemberStateRow[]).map(toMemberState);
  }

  async departuresOf(userIds: readonly number[], afterRev: number): Promise<MemberState[]> {
    return (this.sql.departuresOf.all({ users: JSON.stringify(userIds), after: afterRev }) as MemberStateRow[]).map(toMemberState);
  }

  private roleOf(userId: number, conv: ConversationId): RoomRole | null {
    return (this.sql.role.get(userId, conv) as RoomRole | undefined) ?? null;
  }

  /** Adds a member, read up to the end as it is now; false when they already were one. */
  private add(change: Change, user: UserRef, role: RoomRole): boolean {
    if (this.roleOf(user.id, change.conv) !== null) return false;
    const rev = change.rev();
    this.sql.addMember.run(user.id, change.conv, this.log.lastSeq(change.conv), role, change.ts, rev);
    this.sql.dropDeparture.run(change.conv, user.id);
    change.members.push({ user, change: 'joined', role, rev });
    return true;
  }

  /** Takes `user` out of the room (`by`: themselves, or who removed them), and records the departure. */
  private drop(change: Change, user: UserRef, by: UserRef): void {
    this.sql.dropMember.run(user.id, change.conv);
    const rev = change.rev();
    this.sql.addDeparture.run(change.conv, user.id, by.id, rev);
    change.members.push({ user, change: 'left', role: null, rev });
  }

  private finish(change: Change): RoomCommit {
    if (change.changed) this.sql.finish.run(change.newestRev, change.conv, change.conv);
    return {
      room: toRoomInfo(this.sql.room.get(change.conv) as RoomRow),
      messages: change.messages,
      members: change.members,
      detailsRev: change.detailsRev,
      memberIds: this.log.memberIds(change.conv),
    };
  }
}
