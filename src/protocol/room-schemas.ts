/**
 * Request bodies and queries of the room and people API, validated at the edge. Name and topic
 * rules beyond their type (length in code points, control characters) are checked by the server
 * so that each gets its own error code (ROOM_NAME_INVALID, ROOM_TOPIC_INVALID).
 */
import { z } from 'zod';
import { queryInteger } from './query-integer.ts';
import {
  PEOPLE_PAGE_DEFAULT,
  PEOPLE_PAGE_MAX,
  ROOM_DIRECTORY_PAGE_MAX,
  ROOM_INVITE_MAX,
  ROOM_MEMBERS_PAGE_MAX,
  ROOM_VISIBILITIES,
} from './rooms.ts';

const userId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const visibility = z.enum(ROOM_VISIBILITIES as [string, ...string[]]).transform((v) => v as 'public' | 'private');
// Bounded before the code-point checks so a huge string costs nothing.
const name = z.string().max(1024);
const topic = z.string().max(4096);
const invite = z.array(userId).max(ROOM_INVITE_MAX);

export const createRoomBody = z.strictObject({
  name,
  topic: topic.default(''),
  visibility,
  invite: invite.default([]),
});

export const updateRoomBody = z
  .strictObject({ name: name.optional(), topic: topic.optional(), visibility: visibility.optional() })
  .refine((body) => body.name !== undefined || body.topic !== undefined || body.visibility !== undefined, {
    message: 'change at least one of name, topic, visibility',
  });

export const inviteBody = z.strictObject({ users: invite.min(1) });

export const roleBody = z.strictObject({ role: z.enum(['admin', 'member']) });

const after = z.string().max(256).optional();

/** `GET /api/rooms?q=<name prefix>&after=<cursor>&limit=<n>`: the public directory. */
export const roomDirectoryQuery = z.strictObject({
  q: z.string().max(256).default(''),
  after,
  limit: queryInteger(z.number().int().min(1).max(ROOM_DIRECTORY_PAGE_MAX)).default(50),
});

/** `GET /api/rooms/:conv/members?after=<cursor>&limit=<n>` */
export const roomMembersQuery = z.strictObject({
  after,
  limit: queryInteger(z.number().int().min(1).max(ROOM_MEMBERS_PAGE_MAX)).default(ROOM_MEMBERS_PAGE_MAX),
});

/** `GET /api/people?prefix=<name prefix>&after=<cursor>&limit=<n>` */
export const peopleQuery = z.strictObject({
  prefix: z.string().max(256).default(''),
  after,
  limit: queryInteger(z.number().int().min(1).max(PEOPLE_PAGE_MAX)).default(PEOPLE_PAGE_DEFAULT),
});

export type CreateRoomBody = z.output<typeof createRoomBody>;
export type UpdateRoomBody = z.output<typeof updateRoomBody>;
