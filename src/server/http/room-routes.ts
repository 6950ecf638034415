import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ROOM_ID_PATTERN,
  createRoomBody,
  inviteBody,
  peopleQuery,
  roleBody,
  roomDirectoryQuery,
  roomMembersQuery,
  updateRoomBody,
  type ConversationReply,
  type InviteReply,
  type PeopleReply,
  type RoomDirectoryReply,
  type RoomInfo,
  type RoomMembersReply,
} from '../../protocol/index.ts';
import type { Accounts } from '../accounts/accounts.ts';
import type { People } from '../accounts/people.ts';
import { ParleyError } from '../errors.ts';
import type { Rooms } from '../rooms/rooms.ts';
import { requireUser } from './authenticate.ts';
import { parseBody } from './parse-body.ts';

type WithRoom = { Params: { conv: string } };
type WithMember = { Params: { conv: string; userId: string } };

/** The room and people API (docs/PROTOCOL.md, "Rooms"): thin routes over Rooms and People. */
export function roomRoutes(app: FastifyInstance, deps: { accounts: Accounts; rooms: Rooms; people: People }): void {
  const { accounts, rooms, people } = deps;
  const roomId = (request: FastifyRequest<WithRoom>) => {
    if (!ROOM_ID_PATTERN.test(request.params.conv)) throw new ParleyError('NOT_FOUND', 'No such room.');
    return request.params.conv;
  };
  const memberId = (request: FastifyRequest<WithMember>) => {
    if (!/^[1-9]\d{0,14}$/.test(request.params.userId)) throw new ParleyError('NOT_FOUND', 'No such member.');
    return Number(request.params.userId);
  };

  app.post('/api/rooms', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    const conversation = await rooms.create(user, parseBody(createRoomBody, request.body));
    reply.status(201);
    return { conversation } satisfies ConversationReply;
  });

  app.get('/api/rooms', async (request) => {
    const { user } = await requireUser(accounts, request);
    return (await rooms.directory(user, parseBody(roomDirectoryQuery, request.query))) satisfies RoomDirectoryReply;
  });

  app.get<WithRoom>('/api/rooms/:conv', async (request) => {
    const { user } = await requireUser(accounts, request);
    return { room: await rooms.info(user, roomId(request)) } satisfies { room: RoomInfo };
  });

  app.patch<WithRoom>('/api/rooms/:conv', async (request) => {
    const { user } = await requireUser(accounts, request);
    const conv = roomId(request);
    return { room: await rooms.update(user, conv, parseBody(updateRoomBody, request.body)) } satisfies { room: RoomInfo };
  });

  app.post<WithRoom>('/api/rooms/:conv/join', async (request) => {
    const { user } = await requireUser(accounts, request);
    return { conversation: await rooms.join(user, roomId(request)) } satisfies ConversationReply;
  });

  app.post<WithRoom>('/api/rooms/:conv/leave', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    await rooms.leave(user, roomId(request));
    reply.status(204);
  });

  app.get<WithRoom>('/api/rooms/:conv/members', async (request) => {
    const { user } = await requireUser(accounts, request);
    const conv = roomId(request);
    return (await rooms.members(user, conv, parseBody(roomMembersQuery, request.query))) satisfies RoomMembersReply;
  });

  app.post<WithRoom>('/api/rooms/:conv/members', async (request) => {
    const { user } = await requireUser(accounts, request);
    const conv = roomId(request);
    return (await rooms.invite(user, conv, parseBody(inviteBody, request.body).users)) satisfies InviteReply;
  });

  app.delete<WithMember>('/api/rooms/:conv/members/:userId', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    const conv = roomId(request as unknown as FastifyRequest<WithRoom>);
    await rooms.remove(user, conv, memberId(request));
    reply.status(204);
  });

  app.put<WithMember>('/api/rooms/:conv/members/:userId/role', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    const conv = roomId(request as unknown as FastifyRequest<WithRoom>);
    await rooms.setRole(user, conv, memberId(request), parseBody(roleBody, request.body).role);
    reply.status(204);
  });

  app.get('/api/people', async (request) => {
    await requireUser(accounts, request);
    const query = parseBody(peopleQuery, request.query);
    return (await people.search(query.prefix, { limit: query.limit, ...(query.after === undefined ? {} : { after: query.after }) })) satisfies PeopleReply;
  });
}
