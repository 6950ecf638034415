import type { FastifyInstance } from 'fastify';
import {
  CONVERSATION_ID_PATTERN,
  historyQuery,
  sendBody,
  type AckReply,
  type ConversationsReply,
  type HistoryReply,
  type OnlineReply,
  type UserRef,
} from '../../protocol/index.ts';
import type { Accounts } from '../accounts/accounts.ts';
import { randomUUID } from 'node:crypto';
import type { Chat } from '../chat/chat.ts';
import { ParleyError } from '../errors.ts';
import type { PresenceView } from '../chat/presence.ts';
import { requireUser } from './authenticate.ts';
import { parseBody } from './parse-body.ts';

export interface ConversationRouteDeps {
  accounts: Accounts;
  chat: Chat;
  presence: PresenceView;
}

export function conversationRoutes(app: FastifyInstance, deps: ConversationRouteDeps): void {
  const { accounts, chat, presence } = deps;

  app.get('/api/conversations', async (request) => {
    const { user } = await requireUser(accounts, request);
    return { conversations: await chat.conversationsOf(user) } satisfies ConversationsReply;
  });

  app.get<{ Params: { conv: string } }>('/api/conversations/:conv/messages', async (request) => {
    const { user } = await requireUser(accounts, request);
    const conv = request.params.conv;
    if (!CONVERSATION_ID_PATTERN.test(conv)) throw new ParleyError('NOT_FOUND', 'No such conversation.');
    const { before, limit } = parseBody(historyQuery, request.query);
    const page = await chat.history(user, conv, limit, before);
    return { conv, ...page } satisfies HistoryReply;
  });

  /** Sends a message without a live session (scripts, the CLI): the same path as the `send` frame. */
  app.post<{ Params: { conv: string } }>('/api/conversations/:conv/messages', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    const conv = request.params.conv;
    if (!CONVERSATION_ID_PATTERN.test(conv)) throw new ParleyError('NOT_FOUND', 'No such conversation.');
    const body = parseBody(sendBody, request.body);
    const ack = await chat.send(user, conv, body.clientId ?? randomUUID().replaceAll('-', ''), body.text);
    reply.status(201);
    return ack satisfies AckReply;
  });

  app.get('/api/online', async (request) => {
    await requireUser(accounts, request);
    return { online: presence.users() } satisfies OnlineReply;
  });

  /** Looks a user up by name (case-insensitively), to open a conversation with them. */
  app.get<{ Params: { name: string } }>('/api/users/:name', async (request) => {
    await requireUser(accounts, request);
    const found = await accounts.findUser(request.params.name);
    if (!found) throw new ParleyError('NOT_FOUND', 'No user with that name.');
    return { id: found.id, name: found.name } satisfies UserRef;
  });
}
