// Values from zod-free protocol modules only, so the browser bundle carries no schemas.
import type { ConversationSummary } from '../protocol/frames.ts';
import type { ConversationReply } from '../protocol/http.ts';
import {
  roomUrls,
  type CreateRoomRequest,
  type InviteReply,
  type PeopleReply,
  type RoomDirectoryReply,
  type RoomInfo,
  type RoomMembersReply,
  type UpdateRoomRequest,
} from '../protocol/rooms.ts';
import type { ParleyApi } from './api.ts';

/** The room and people API (docs/PROTOCOL.md, "Rooms"). */
export class RoomApi {
  constructor(readonly api: ParleyApi) {}

  async create(request: CreateRoomRequest): Promise<ConversationSummary> {
    return (await this.api.json<ConversationReply>('POST', roomUrls.collection, request)).conversation;
  }

  /** Public rooms whose name starts with `q` (all of them for ''), a page at a time. */
  directory(options: { q?: string; after?: string; limit?: number } = {}): Promise<RoomDirectoryReply> {
    return this.api.json('GET', `${roomUrls.collection}${query(options)}`);
  }

  async info(conv: string): Promise<RoomInfo> {
    return (await this.api.json<{ room: RoomInfo }>('GET', roomUrls.room(conv))).room;
  }

  async update(conv: string, change: UpdateRoomRequest): Promise<RoomInfo> {
    return (await this.api.json<{ room: RoomInfo }>('PATCH', roomUrls.room(conv), change)).room;
  }

  async join(conv: string): Promise<ConversationSummary> {
    return (await this.api.json<ConversationReply>('POST', roomUrls.join(conv))).conversation;
  }

  async leave(conv: string): Promise<void> {
    await this.api.json('POST', roomUrls.leave(conv));
  }

  members(conv: string, options: { after?: string; limit?: number } = {}): Promise<RoomMembersReply> {
    return this.api.json('GET', `${roomUrls.members(conv)}${query(options)}`);
  }

  invite(conv: string, userIds: number[]): Promise<InviteReply> {
    return this.api.json('POST', roomUrls.members(conv), { users: userIds });
  }

  async remove(conv: string, userId: number): Promise<void> {
    await this.api.json('DELETE', roomUrls.member(conv, userId));
  }

  async setRole(conv: string, userId: number, role: 'admin' | 'member'): Promise<void> {
    await this.api.json('PUT', `${roomUrls.member(conv, userId)}/role`, { role });
  }

  /** Anyone whose name starts with `prefix`, online or not. */
  people(prefix: string, options: { after?: string; limit?: number } = {}): Promise<PeopleReply> {
    return this.api.json('GET', `${roomUrls.people}${query({ prefix, ...options })}`);
  }
}

function query(options: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(options)) if (value !== undefined) params.set(key, String(value));
  return params.size > 0 ? `?${params}` : '';
}
