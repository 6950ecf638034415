import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  CONVERSATION_ID_PATTERN,
  HISTORY_PAGE_DEFAULT,
  HISTORY_PAGE_MAX,
  type ConversationsReply,
  type HistoryReply,
  type UserRef,
} from '../../protocol/index.ts';
import type { Accounts } from '../accounts/accounts.ts';
import { nameKeyOf } from '../accounts/names.ts';
import type { Chat } from '../chat/chat.ts';
import { ParleyError } from '../errors.ts';
import type { Store } from '../storage/store.ts';
import { requireUser } from './authenticate.ts';
import { parseBody } from './parse-body.ts';

const historyQuery = z.strictObject({
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(HISTORY_PAGE_MAX).default(HISTORY_PAGE_DEFAULT),
});

export function conversationRoutes(app: FastifyInstance, deps: { accounts: Accounts; chat: Chat; store: Store }): void {
  const { accounts, chat, store } = deps;

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

  /** Looks a user up by name (case-insensitively), to open a conversation with them. */
  app.get<{ Params: { name: string } }>('/api/users/:name', async (request) => {
    await requireUser(accounts, request);
    const found = await store.userByNameKey(nameKeyOf(request.params.name));
    if (!found) throw new ParleyError('NOT_FOUND', 'No user with that name.');
    return { id: found.id, name: found.name } satisfies UserRef;
  });
}
